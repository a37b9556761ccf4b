/**
 * What a dashboard request asks for, from its method and path (relative to the dashboard's mount point). The
 * server decides on this, not on the page: a read, a replay of one dead-lettered job or of a queue's whole
 * dead-letter set (operators only, audited), or anything else bull-board offers (clean, remove, promote, pause,
 * add, edit, empty, obliterate...), which the engine refuses for every role: those change queues without an audit
 * record and have their own tools (`ecgcad dlq`).
 */

/** The action a request stands for. */
export type DashboardAction =
  | { kind: 'read' }
  | { kind: 'retry'; queueName: string; jobId: string }
  | { kind: 'retry-failed'; queueName: string }
  | { kind: 'refused' };

function decode(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

/** Classifies a request. `path` is the URL below the dashboard's prefix, query included or not. */
export function dashboardAction(method: string, path: string): DashboardAction {
  const verb = method.toUpperCase();
  if (verb === 'GET' || verb === 'HEAD') return { kind: 'read' };
  if (verb !== 'PUT') return { kind: 'refused' };
  const segments = (path.split('?')[0] ?? '').split('/').filter((s) => s.length > 0);
  // /api/queues/:queueName/:jobId/retry  and  /api/queues/:queueName/retry/failed
  if (segments.length !== 5 || segments[0] !== 'api' || segments[1] !== 'queues') return { kind: 'refused' };
  const queueName = decode(segments[2] as string);
  const third = decode(segments[3] as string);
  const last = segments[4];
  if (queueName === undefined || third === undefined) return { kind: 'refused' };
  if (last === 'retry') return { kind: 'retry', queueName, jobId: third };
  if (third === 'retry' && last === 'failed') return { kind: 'retry-failed', queueName };
  return { kind: 'refused' };
}
