/**
 * What the app tells a person when something fails: one short sentence and, where it helps, what to do. Never a
 * stack trace, a URL or a server's text (which may name a patient).
 */

/** The kinds of failure the app tells apart. */
export type ProblemKind = 'session-ended' | 'not-launched' | 'forbidden' | 'network' | 'server' | 'unexpected';

/** A message for the page. */
export interface Problem {
  kind: ProblemKind;
  title: string;
  detail: string;
  /** Offer "Sign in again" (the launch page). */
  signIn: boolean;
}

const MESSAGES: Record<ProblemKind, Omit<Problem, 'kind'>> = {
  'session-ended': {
    title: 'Your session has ended',
    detail: 'The EHR no longer accepts this sign-in (it expired or was revoked). Sign in again to continue.',
    signIn: true,
  },
  'not-launched': {
    title: 'Not signed in',
    detail: 'Open ecgcad from your EHR, or sign in from the launch page.',
    signIn: true,
  },
  forbidden: {
    title: 'Not allowed',
    detail: 'The EHR does not let this sign-in read these results. Ask your EHR administrator for access.',
    signIn: false,
  },
  network: {
    title: 'The EHR cannot be reached',
    detail: 'Check the network connection, then try again.',
    signIn: false,
  },
  server: {
    title: 'The EHR answered with an error',
    detail: 'Try again in a moment. If it persists, tell your EHR support team.',
    signIn: false,
  },
  unexpected: {
    title: 'Something went wrong',
    detail: 'Reload the page. If it persists, tell your EHR support team.',
    signIn: false,
  },
};

/** Sorts a thrown value (fhirclient HttpError, fetch TypeError, Error) into a Problem. */
export function problemOf(error: unknown): Problem {
  const kind = kindOf(error);
  return { kind, ...MESSAGES[kind] };
}

function kindOf(error: unknown): ProblemKind {
  const e = error as { status?: unknown; name?: unknown; message?: unknown } | undefined;
  const status = typeof e?.status === 'number' ? e.status : undefined;
  const message = typeof e?.message === 'string' ? e.message : String(error ?? '');
  if (status === 401) return 'session-ended';
  if (status === 403) return 'forbidden';
  if (status !== undefined && status >= 400) return 'server';
  // fhirclient's ready() without a launch: no state in sessionStorage, no code in the URL.
  if (/no 'state'|no state|state.*not found|not launched|authorization server/i.test(message)) return 'not-launched';
  if (/expired/i.test(message)) return 'session-ended';
  if (e?.name === 'TypeError' && /fetch|network|load failed/i.test(message)) return 'network';
  if (/failed to fetch|networkerror|network error/i.test(message)) return 'network';
  return 'unexpected';
}
