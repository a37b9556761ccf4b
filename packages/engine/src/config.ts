/**
 * Engine configuration: one JSON file (`--config` or ECGCAD_CONFIG) plus environment variables, which win.
 * Validated with zod at start; every bad key gets its own line in one ConfigError. Secrets (API keys, the EHR
 * token) come only from the environment or the file and are never logged (see `redactedConfig`).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ConfigError, DEFAULT_RETRY_POLICY, QUEUE_PREFIX } from '@ecgcad/ecg';
import { DEFAULT_PTP_INPUT_OPTIONS } from '@ecgcad/fhir-writer';
import { z } from 'zod';
import { DEFAULT_ORDER_CODES } from './cds/services.js';
import { OPS_TOKEN_NAME } from './ops-auth.js';

/** The demo model folder that `npm run build` generates, found relative to this package (src or dist). */
export const DEFAULT_MODEL_DIR = fileURLToPath(new URL('../../../models/ecgcad-demo', import.meta.url));

const port = z.number().int().min(0).max(65_535);
const aeTitle = z.string().regex(/^[\x20-\x5b\x5d-\x7e]{1,16}$/, 'must be 1-16 printable characters without backslash');
const positiveInt = z.number().int().positive();

/** EHR authentication: OAuth2 client credentials, or SMART Backend Services (private_key_jwt). */
const fhirAuthSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('none') }).strict(),
  z.object({ type: z.literal('bearer') }).strict(),
  z
    .object({
      type: z.literal('client-credentials'),
      tokenUrl: z.url(),
      clientId: z.string().min(1),
      /** Secret: prefer ECGCAD_FHIR_CLIENT_SECRET. */
      clientSecret: z.string().min(1, 'required (or ECGCAD_FHIR_CLIENT_SECRET)'),
      scope: z.string().min(1).optional(),
    })
    .strict(),
  z
    .object({
      type: z.literal('smart-backend'),
      tokenUrl: z.url(),
      clientId: z.string().min(1),
      /** File holding the private key: a PKCS#8 PEM or a private JWK (JSON). The key itself never sits in config. */
      privateKeyFile: z.string().min(1),
      alg: z.enum(['RS384', 'ES384']).default('RS384'),
      /** Key id (kid) of the registered public key. */
      kid: z.string().min(1).optional(),
      scope: z.string().min(1).optional(),
    })
    .strict(),
]);

/** TLS of the Redis connection (used with a rediss:// URL). */
const redisTlsSchema = z
  .object({
    /** CA bundle (PEM) that signed Redis's certificate; default the system store. */
    caFile: z.string().min(1).optional(),
    /** Client certificate and key (PEM) when Redis asks for one (`tls-auth-clients yes`). */
    certFile: z.string().min(1).optional(),
    keyFile: z.string().min(1).optional(),
    /** Name to check Redis's certificate against, when it differs from the URL's host. */
    servername: z.string().min(1).optional(),
  })
  .strict()
  .refine((tls) => (tls.certFile === undefined) === (tls.keyFile === undefined), 'certFile and keyFile go together');

const opsUserObject = z
  .object({
    /** Shown in logs and the audit trail; the Basic user name. */
    name: z.string().regex(/^[A-Za-z0-9._@-]{1,64}$/, 'letters, digits, . _ @ - only (1-64)'),
    role: z.enum(['viewer', 'operator']),
    /** The token itself (secret: prefer ECGCAD_OPS_USERS). */
    token: z.string().min(16, 'ops user tokens need at least 16 characters').optional(),
    /** Hex sha256 of the token, so a config file need not hold the secret. */
    tokenSha256: z
      .string()
      .regex(/^[0-9a-fA-F]{64}$/, 'hex sha256 (64 digits)')
      .transform((hex) => hex.toLowerCase())
      .optional(),
  })
  .strict()
  .refine((user) => (user.token === undefined) !== (user.tokenSha256 === undefined), {
    message: 'give exactly one of token or tokenSha256',
  });

/** One ops user: an object, or `name:role:token` (the ECGCAD_OPS_USERS form; the token may hold colons). */
const opsUserSchema = z.preprocess((entry) => {
  if (typeof entry !== 'string') return entry;
  const [name, role, ...rest] = entry.split(':');
  return { name, role, token: rest.length > 0 ? rest.join(':') : undefined };
}, opsUserObject);

/** TLS of the engine's HTTP server (feeds and ops endpoints). */
const httpTlsSchema = z
  .object({
    /** Server certificate chain and private key (PEM files). */
    certFile: z.string().min(1),
    keyFile: z.string().min(1),
    /** CA bundle (PEM) that client certificates must chain to; needed for `clientCert` other than `off`. */
    caFile: z.string().min(1).optional(),
    /**
     * Client certificates (mTLS): `off` (default), `optional` (asked for; a verified one authenticates like an API
     * key, senders without one still need a key), `require` (the handshake fails without a verified certificate).
     */
    clientCert: z.enum(['off', 'optional', 'require']).default('off'),
    /** Only these client certificate subject CNs authenticate; default any certificate the CA verified. */
    allowedSubjects: z.array(z.string().min(1)).min(1).optional(),
    minVersion: z.enum(['TLSv1.2', 'TLSv1.3']).default('TLSv1.2'),
  })
  .strict()
  .refine((tls) => tls.clientCert === 'off' || tls.caFile !== undefined, {
    message: 'clientCert optional/require needs caFile',
    path: ['caFile'],
  });

/** Codes as `system|code`, or `system|prefix*` for a code family (ICD-10). */
const codeList = z.array(
  z.string().regex(/^[^|\s]+\|[^|\s]+$/, 'each code must be written system|code (or system|prefix*)'),
);
const P = DEFAULT_PTP_INPUT_OPTIONS;
const symptomCodes = (codes: readonly string[]) => codeList.default([...codes]);

/** Pre-test probability in live operation (docs/OPERATIONS.md: inputs, what counts, what is missing). */
const ptpSchema = z
  .object({
    /** Read PTP inputs from the EHR and write the PTP with each scored ECG. Needs `fhir.url`. */
    enabled: z.boolean().default(false),
    /** The model the Bundle reports: `esc2024` (RF-CL, default) or `esc2019`. */
    model: z.enum(['esc2019', 'esc2024']).default('esc2024'),
    /** Reclassification matrix JSON (PTP level x AI stratum); default: the shipped cells on `model`. */
    matrixFile: z.string().min(1).optional(),
    /** Unrecorded risk-factor conditions count as absent (curated problem list). Default false: unknown. */
    problemListAuthoritative: z.boolean().default(P.problemListAuthoritative),
    conditions: z
      .object({
        hypertension: codeList.default([...P.conditions.hypertension]),
        diabetes: codeList.default([...P.conditions.diabetes]),
        dyslipidaemia: codeList.default([...P.conditions.dyslipidaemia]),
      })
      .strict()
      .prefault({}),
    smoking: z
      .object({
        codes: codeList.default([...P.smoking.codes]),
        current: codeList.default([...P.smoking.current]),
        past: codeList.default([...P.smoking.past]),
        never: codeList.default([...P.smoking.never]),
      })
      .strict()
      .prefault({}),
    familyHistory: z
      .object({
        conditions: codeList.default([...P.familyHistory.conditions]),
        maleOnsetBelow: z.number().positive().default(P.familyHistory.maleOnsetBelow),
        femaleOnsetBelow: z.number().positive().default(P.familyHistory.femaleOnsetBelow),
        unknownOnset: z.enum(['missing', 'count', 'ignore']).default(P.familyHistory.unknownOnset),
        authoritative: z.boolean().default(P.familyHistory.authoritative),
      })
      .strict()
      .prefault({}),
    calcium: z
      .object({
        codes: codeList.default([...P.calcium.codes]),
        lookbackDays: positiveInt.default(P.calcium.lookbackDays),
      })
      .strict()
      .prefault({}),
    symptoms: z
      .object({
        source: z.enum(['service-request', 'encounter', 'observation']).default(P.symptoms.source),
        /** Per symptom type, the codes that mean it; a type given here replaces its default list. */
        mapping: z
          .object({
            typical: symptomCodes(P.symptoms.mapping.typical),
            atypical: symptomCodes(P.symptoms.mapping.atypical),
            'non-anginal': symptomCodes(P.symptoms.mapping['non-anginal']),
            dyspnoea: symptomCodes(P.symptoms.mapping.dyspnoea),
            none: symptomCodes(P.symptoms.mapping.none),
          })
          .strict()
          .prefault({}),
        observationCodes: codeList.default([...P.symptoms.observationCodes]),
        serviceRequestCodes: codeList.default([...P.symptoms.serviceRequestCodes]),
        lookbackDays: positiveInt.default(P.symptoms.lookbackDays),
        afterEcgHours: z.number().min(0).default(P.symptoms.afterEcgHours),
      })
      .strict()
      .prefault({}),
  })
  .strict()
  .prefault({});

/** CDS Hooks service (docs/CDS-HOOKS.md): /cds-services on the HTTP server. */
const cdsSchema = z
  .object({
    /** Serve /cds-services. Off by default: a site registers the service with its EHR first. */
    enabled: z.boolean().default(false),
    /**
     * Public base URL of this server as the EHR calls it (JWT `aud` = `<baseUrl>/cds-services/<id>`); default
     * http.publicUrl, else the listen address.
     */
    baseUrl: z.url().optional(),
    /** The CDS clients (EHRs) trusted: their JWT issuer and JWK Set URL, plus other JWK Set URLs they may name in `jku`. */
    clients: z
      .array(z.object({ iss: z.string().min(1), jwksUrl: z.url(), jku: z.array(z.url()).min(1).optional() }).strict())
      .default([]),
    /** Longest JWT life accepted (exp - now), seconds. */
    maxTokenLifetimeS: positiveInt.max(3600).default(300),
    /** SMART launch URL of the ECG viewer in the cards; default `<baseUrl>/app/launch.html`. */
    appLaunchUrl: z.url().optional(),
    /** Results older than this many days get no card. */
    recentDays: positiveInt.max(3650).default(365),
    /** At most this many cards per call (the newest results). */
    maxCards: positiveInt.max(50).default(3),
    /** Draft-order codes (system|code) that make order-select / order-sign answer: CCTA and stress tests. */
    orderCodes: codeList.min(1).default([...DEFAULT_ORDER_CODES]),
    /** FHIR servers (besides fhir.url) a request's fhirServer may name for the read fallback. */
    fhirServers: z.array(z.url()).default([]),
    /** Time limit of each fallback FHIR read, ms (the EHR waits for the card). */
    fhirTimeoutMs: positiveInt.max(30_000).default(2000),
    /** Origins of browser-based CDS clients allowed by CORS (`*` for any); default none. */
    corsOrigins: z.array(z.string().min(1)).default([]),
    /** Allow http:// JWK Set URLs (a test EHR only): keys fetched in clear could be swapped on the way. */
    allowInsecureHttp: z.boolean().default(false),
  })
  .strict()
  .superRefine((cds, ctx) => {
    if (cds.allowInsecureHttp) return;
    cds.clients.forEach((client, i) => {
      for (const [key, url] of [['jwksUrl', client.jwksUrl], ...(client.jku ?? []).map((u) => ['jku', u])]) {
        if (!url?.toLowerCase().startsWith('https://')) {
          ctx.addIssue({
            code: 'custom',
            path: ['clients', i, key as string],
            message: 'must be an https:// URL (set cds.allowInsecureHttp for a test EHR)',
          });
        }
      }
    });
  })
  .prefault({});

/** The configuration schema, with every default. */
export const configSchema = z
  .object({
    redis: z
      .object({
        /** Redis URL (redis:// or rediss://). */
        url: z
          .string()
          .regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL')
          .default('redis://127.0.0.1:6379'),
        /** Queue and payload key prefix; keep the braces (Redis Cluster hash tag). */
        prefix: z.string().min(1).default(QUEUE_PREFIX),
        /** What to do when Redis's maxmemory-policy is not noeviction: `refuse` to start (default) or `warn`. */
        evictionPolicyCheck: z.enum(['refuse', 'warn']).default('refuse'),
        /** ACL user (Redis 6+); with `password` only, the `default` user. Overrides a user in the URL. */
        username: z.string().min(1).optional(),
        /** Secret: prefer ECGCAD_REDIS_PASSWORD. Overrides a password in the URL. */
        password: z.string().min(1).optional(),
        /** TLS details for a rediss:// URL (files, so keys never sit in the config). */
        tls: redisTlsSchema.optional(),
      })
      .prefault({}),
    model: z
      .object({
        dir: z.string().min(1).default(DEFAULT_MODEL_DIR),
        /** ONNX Runtime execution providers, in order of preference. */
        providers: z
          .array(z.enum(['cpu', 'webgpu', 'cuda']))
          .min(1)
          .default(['cpu']),
        /** intraOpNumThreads per instance; default: the cores of this machine divided among the instances. */
        threads: positiveInt.optional(),
        /** Sessions of the model running batches side by side (each on its own thread); default 1. */
        instances: positiveInt.max(64).default(1),
        maxBatch: positiveInt.max(1024).default(16),
        maxDelayMs: z.number().min(0).max(1000).default(5),
        /**
         * Shadow mode (docs/OPERATIONS.md): a second model folder scores the same ECGs; its results go to metrics and
         * the shadow store only, never to the EHR. Promotion: set `dir` to the shadow's folder, remove `shadow`.
         */
        shadow: z
          .object({
            /** The shadow model folder (e.g. a new version from `ecgcad calibrate`). */
            dir: z.string().min(1),
            /** Share of ECGs the shadow scores, picked by a hash of the ECG id (a replay scores the same set). */
            fraction: z.number().min(0).max(1).default(1),
            /** Shadow records kept in Redis (queued mode): this many days... */
            retentionDays: z.number().positive().max(3660).default(90),
            /** ...and at most this many per live/shadow model pair. */
            maxRecords: positiveInt.default(1_000_000),
            /** Embedded mode: the JSONL file of shadow records; default `<out>/shadow-results.jsonl`. */
            file: z.string().min(1).optional(),
          })
          .strict()
          .optional(),
      })
      .prefault({}),
    fhir: z
      .object({
        /** FHIR R4 base URL. Without it, Bundles go to files under `out`. */
        url: z.url().optional(),
        /** Static bearer token (secret: prefer ECGCAD_FHIR_TOKEN). Used when `auth` is unset. */
        bearerToken: z.string().min(1).optional(),
        /** How to authenticate to the EHR; default none (or bearer when `bearerToken` is set). */
        auth: fhirAuthSchema.optional(),
        timeoutMs: positiveInt.default(30_000),
        /** Identifier system for patient ids without an issuer. */
        patientSystem: z.string().min(1).optional(),
        /** Patient reference: `conditional` (Patient?identifier=..., default) or `logical` (identifier only). */
        patientReference: z.enum(['conditional', 'logical']).default('conditional'),
        /** ECGs with no patient identifier: `refuse` (default for an EHR) or `placeholder`. */
        unidentified: z.enum(['refuse', 'placeholder']).optional(),
        /** IANA zone of acquisition times that carry none. */
        timeZone: z.string().min(1).optional(),
        /** The ECG Observation carries the leads (SampledData); false for EHRs that refuse large resources. */
        waveform: z.boolean().default(true),
        /**
         * Allow http:// for `url` and the token URL (a test EHR; loopback included: there is no implicit exception).
         * Default false: patient data and client credentials go to the EHR over https only.
         */
        allowInsecureHttp: z.boolean().default(false),
        /**
         * R4 validation of each Bundle before it leaves: `fast` (default; a compiled walk, with @medplum/core's full
         * validation for anything it cannot vouch for: same verdicts) or `full` (@medplum/core on every resource).
         */
        validation: z.enum(['fast', 'full']).default('fast'),
      })
      .superRefine((fhir, ctx) => {
        if (fhir.allowInsecureHttp) return;
        const urls: Array<[string[], string | undefined]> = [
          [['url'], fhir.url],
          [['auth', 'tokenUrl'], fhir.auth && 'tokenUrl' in fhir.auth ? fhir.auth.tokenUrl : undefined],
        ];
        for (const [path, url] of urls) {
          if (url !== undefined && !url.toLowerCase().startsWith('https://')) {
            ctx.addIssue({
              code: 'custom',
              path,
              message:
                'must be an https:// URL (set fhir.allowInsecureHttp or ECGCAD_FHIR_ALLOW_HTTP=1 for a test EHR)',
            });
          }
        }
      })
      .prefault({}),
    /** Folder for Bundle files when no FHIR URL is set. */
    out: z.string().min(1).default('./out'),
    /** Folder of refused payloads (rejected store). */
    rejectedDir: z.string().min(1).default('./.ecgcad/rejected'),
    payloads: z
      .object({
        /** Payload TTL; default derived: retention.failedJobsS + maxPendingS. A shorter one is refused at start. */
        ttlS: positiveInt.optional(),
        /** Longest an accepted ECG may wait (queued, delayed, retrying) before its job completes or fails. */
        maxPendingS: positiveInt.default(86_400),
      })
      .prefault({}),
    /** How long things are kept, seconds. */
    retention: z
      .object({
        /** Failed jobs (the dead-letter set, for `ecgcad dlq replay`); their payloads are kept as long. */
        failedJobsS: positiveInt.default(7 * 86_400),
        /** Completed jobs (status answers, resend de-duplication). */
        completedJobsS: positiveInt.default(86_400),
        /** Files in the rejected store. */
        rejectedS: positiveInt.default(30 * 86_400),
        /** Files in the folder feed's done/ folder. */
        folderDoneS: positiveInt.default(30 * 86_400),
        /** How often the retention sweep deletes what is older than the above. */
        sweepIntervalS: positiveInt.default(3600),
      })
      .prefault({}),
    /** The one retry policy (queued stages, embedded mode, delivery, folder feed); defaults from the kernel's. */
    retry: z
      .object({
        attempts: positiveInt.max(100).default(DEFAULT_RETRY_POLICY.attempts),
        baseDelayMs: positiveInt.default(DEFAULT_RETRY_POLICY.baseDelayMs),
        factor: z.number().min(1).max(10).default(DEFAULT_RETRY_POLICY.factor),
        maxDelayMs: positiveInt.default(DEFAULT_RETRY_POLICY.maxDelayMs),
        maxRetryAfterMs: z.number().int().min(0).default(DEFAULT_RETRY_POLICY.maxRetryAfterMs),
      })
      .strict()
      .prefault({}),
    workers: z
      .object({
        ingest: positiveInt.default(4),
        infer: positiveInt.default(32),
        write: positiveInt.default(8),
        stalledIntervalMs: positiveInt.default(30_000),
        maxStalledCount: z.number().int().min(0).default(2),
        /** Job lock duration: a dead worker's jobs are picked up again after at most this long. */
        lockDurationMs: positiveInt.default(30_000),
      })
      .prefault({}),
    http: z
      .object({
        enabled: z.boolean().default(true),
        /** Bind address. Loopback by default: a non-loopback address needs `tls` or `allowInsecure`. */
        host: z.string().min(1).default('127.0.0.1'),
        port: port.default(8080),
        /** Base URL senders use to reach this server (for statusUrl); default http://<host>:<port>. */
        publicUrl: z.url().optional(),
        /** API keys for the HTTP feeds (secret: prefer ECGCAD_API_KEYS, comma-separated). */
        apiKeys: z.array(z.string().min(16, 'API keys need at least 16 characters')).default([]),
        /** Let unauthenticated senders in (only behind an authenticating proxy). */
        anonymous: z.boolean().default(false),
        /** HTTPS; without it the server refuses a non-loopback `host` unless `allowInsecure` is set. */
        tls: httpTlsSchema.optional(),
        /** Serve plain HTTP on a non-loopback address (only behind a TLS-terminating proxy). Logged loudly. */
        allowInsecure: z.boolean().default(false),
        /** Time limits against slow senders (slow-loris) and idle sockets. */
        timeouts: z
          .object({
            /** Whole request head (and, with TLS, the handshake) must arrive within this. */
            headersMs: positiveInt.default(10_000),
            /** Whole request, body included, must arrive within this (a 64 MiB STOW-RS over a slow link fits). */
            requestMs: positiveInt.default(120_000),
            /** A socket with no traffic at all is closed after this. */
            idleMs: positiveInt.default(30_000),
            /** An idle keep-alive connection is closed after this. */
            keepAliveMs: positiveInt.default(5_000),
          })
          .prefault({}),
        /** Requests handled at once; more get 503 + Retry-After (/healthz is exempt). */
        maxInFlight: positiveInt.default(256),
        /** Open sockets at once; more are refused by the kernel-level accept check. */
        maxConnections: positiveInt.default(1024),
      })
      .prefault({}),
    /** Operations endpoints (/metrics, /readyz, /ecg/:id/status) on the HTTP server; /healthz is always open. */
    ops: z
      .object({
        /**
         * Bearer token for the ops endpoints (secret: prefer ECGCAD_OPS_TOKEN). Without one, they answer loopback
         * peers only. /ecg/:id/status also takes the HTTP feeds' credentials (the sender follows its statusUrl).
         */
        token: z.string().min(16, 'the ops token needs at least 16 characters').optional(),
        /** Let /readyz answer unauthenticated callers with its status code and no details (kubelet probes). */
        anonymousReadiness: z.boolean().default(false),
        /**
         * Named ops users with a role (secret tokens: prefer ECGCAD_OPS_USERS, `name:role:token,...`, or keep only
         * `tokenSha256` in the file). `viewer` reads the ops endpoints and the queue dashboard; `operator` may also
         * replay dead-lettered jobs from the dashboard, each replay audited under the user's name.
         */
        users: z.array(opsUserSchema).default([]),
        /** The queue dashboard (bull-board) at /ops/queues, behind the same credentials. */
        dashboard: z.boolean().default(true),
      })
      .superRefine((ops, ctx) => {
        const names = new Set<string>();
        for (const [i, user] of ops.users.entries()) {
          if (names.has(user.name) || (user.name === OPS_TOKEN_NAME && ops.token !== undefined)) {
            ctx.addIssue({ code: 'custom', path: ['users', i, 'name'], message: 'user names must be unique' });
          }
          names.add(user.name);
        }
      })
      .prefault({}),
    /** The ecgcad app (SMART on FHIR worklist and viewer) served at /app/ by the HTTP server (docs/VIEWER.md). */
    app: z
      .object({
        enabled: z.boolean().default(true),
        /** The app's client id as registered in the EHR (a public client: PKCE, no secret). */
        clientId: z.string().min(1).default('ecgcad-viewer'),
        /** Scopes the app asks for (a standalone launch adds launch/patient). */
        scope: z.string().min(1).default('launch launch/patient patient/*.read'),
        /** FHIR base of a standalone launch; default fhir.url. */
        fhirBaseUrl: z.url().optional(),
        /** More origins the app may call (CSP connect-src), e.g. an http:// authorization server. */
        connectSrc: z.array(z.url()).default([]),
        /** CSP frame-ancestors: who may embed the app; default anyone (EHRs embed SMART apps). */
        frameAncestors: z.array(z.string().min(1)).optional(),
      })
      .strict()
      .prefault({}),
    /** Backpressure: feeds refuse new ECGs (HTTP 503 + Retry-After, C-STORE 0xA700) while the engine is behind. */
    backpressure: z
      .object({
        /** Most infer jobs waiting (waiting + delayed + prioritized); 0 turns the check off. */
        maxInferDepth: z.number().int().min(0).default(10_000),
        /** Retry-After told to senders, in seconds. */
        retryAfterS: positiveInt.default(30),
      })
      .prefault({}),
    dimse: z
      .object({
        enabled: z.boolean().default(true),
        host: z.string().min(1).default('0.0.0.0'),
        port: port.default(11112),
        aeTitle: aeTitle.default('ECGCAD'),
        /** Calling AE titles allowed to associate; unset (and no callingAeAddresses) = any, with a loud warning. */
        allowedCallingAeTitles: z.array(aeTitle).min(1).optional(),
        /** Calling AE title -> source IPs / CIDR blocks it may call from (the title is then allowed, from there only). */
        callingAeAddresses: z.record(aeTitle, z.array(z.string().min(1)).min(1)).optional(),
        /**
         * DICOM TLS (BCP 195 profile). Unset = plain TCP: refused on a non-loopback `host` unless `allowInsecure`,
         * and logged loudly either way.
         */
        tls: z
          .object({
            certFile: z.string().min(1),
            keyFile: z.string().min(1),
            /** CA of the client certificates; with it, clients must present one it signed (unless verifyClient false). */
            caFile: z.string().min(1).optional(),
            verifyClient: z.boolean().optional(),
            minVersion: z.enum(['TLSv1.2', 'TLSv1.3']).default('TLSv1.2'),
          })
          .strict()
          .optional(),
        /** Plain TCP on a non-loopback address (a closed network the site vouches for). Logged loudly. */
        allowInsecure: z.boolean().default(false),
        /** Open associations per source address; more get A-ASSOCIATE-RJ local-limit-exceeded. */
        maxAssociationsPerSource: positiveInt.max(1024).default(8),
        /** ARTIM: connection to A-ASSOCIATE-RQ. */
        associationTimeoutMs: positiveInt.default(30_000),
        /** A peer that completes no PDU this long while we owe it nothing is aborted. */
        pduTimeoutMs: positiveInt.default(60_000),
      })
      .prefault({}),
    folder: z
      .object({
        /** Watched drop folder; no folder feed when unset. */
        dir: z.string().min(1).optional(),
      })
      .prefault({}),
    /** The audit trail (AuditEvents for every received, refused, written and replayed ECG). */
    audit: z
      .object({
        /** `file` (JSON lines, default), `fhir` (POSTed to the EHR in their own Bundles) or `none`. */
        sink: z.enum(['file', 'fhir', 'none']).default('file'),
        /** JSON lines file of the `file` sink (append-only). */
        file: z.string().min(1).default('./.ecgcad/audit/audit.jsonl'),
        /** FHIR base URL of the `fhir` sink (an audit repository); default fhir.url, with its authentication. */
        fhirUrl: z.url().optional(),
        /** Name of this engine in the records (observer, AE side); default `ecgcad`. */
        name: z.string().min(1).default('ecgcad'),
        /** Events delivered per batch. */
        batch: positiveInt.max(1000).default(100),
        /** Time between deliveries of pending events, ms (and the retry delay after a failed one). */
        intervalMs: positiveInt.default(1000),
      })
      .prefault({}),
    log: z
      .object({ level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info') })
      .prefault({}),
    ptp: ptpSchema,
    /** Occlusion-sensitivity maps per vessel in the infer stage (docs/FHIR.md, "Attribution"). */
    attribution: z
      .object({
        /** Which scored ECGs get one: `any-high` (a vessel in the high stratum; default), `always`, `never`. */
        when: z.enum(['any-high', 'always', 'never']).default('any-high'),
        /** Window length, s (rounded to whole samples of the model input); 12 leads x duration / windowS model runs. */
        windowS: z.number().min(0.05).max(10).default(1),
      })
      .strict()
      .prefault({}),
    cds: cdsSchema,
    /** Model monitoring and drift (docs/MONITORING.md). */
    monitor: z
      .object({
        enabled: z.boolean().default(true),
        /** Rolling drift window: at most this many days... */
        windowDays: z.number().positive().max(366).default(7),
        /** ...and at most this many ECGs. */
        windowEcgs: positiveInt.default(2000),
        /** Time bucket of the window in Redis, in minutes. */
        bucketMinutes: positiveInt.max(1440).default(60),
        /** ECGs captured as the reference when the model folder has no reference-profile.json. */
        captureEcgs: positiveInt.default(500),
        /** Distinct feed and device label values before the rest is counted as `other`. */
        maxLabelValues: positiveInt.max(1000).default(20),
      })
      .strict()
      .prefault({}),
  })
  .strict()
  .superRefine((config, ctx) => {
    if (config.cds.enabled && config.cds.clients.length === 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['cds', 'clients'],
        message: 'cds.enabled needs at least one trusted client (iss + jwksUrl): every call would be refused',
      });
    }
    if (config.ptp.enabled && !config.fhir.url) {
      ctx.addIssue({
        code: 'custom',
        path: ['ptp', 'enabled'],
        message: 'needs fhir.url: the pre-test probability reads its inputs from the EHR',
      });
    }
  });

/** The validated configuration. */
export type EngineConfig = z.infer<typeof configSchema>;

/** Environment variables and the config path each sets. */
export const ENV_KEYS: Record<string, { path: string[]; parse: 'string' | 'int' | 'list' | 'bool' }> = {
  ECGCAD_REDIS_URL: { path: ['redis', 'url'], parse: 'string' },
  ECGCAD_REDIS_PREFIX: { path: ['redis', 'prefix'], parse: 'string' },
  ECGCAD_REDIS_USERNAME: { path: ['redis', 'username'], parse: 'string' },
  ECGCAD_REDIS_PASSWORD: { path: ['redis', 'password'], parse: 'string' },
  ECGCAD_REDIS_CA_FILE: { path: ['redis', 'tls', 'caFile'], parse: 'string' },
  ECGCAD_MODEL_DIR: { path: ['model', 'dir'], parse: 'string' },
  ECGCAD_EXECUTION_PROVIDERS: { path: ['model', 'providers'], parse: 'list' },
  ECGCAD_THREADS: { path: ['model', 'threads'], parse: 'int' },
  ECGCAD_INSTANCES: { path: ['model', 'instances'], parse: 'int' },
  ECGCAD_SHADOW_MODEL_DIR: { path: ['model', 'shadow', 'dir'], parse: 'string' },
  ECGCAD_FHIR_URL: { path: ['fhir', 'url'], parse: 'string' },
  ECGCAD_APP_ENABLED: { path: ['app', 'enabled'], parse: 'bool' },
  ECGCAD_APP_CLIENT_ID: { path: ['app', 'clientId'], parse: 'string' },
  ECGCAD_FHIR_TOKEN: { path: ['fhir', 'bearerToken'], parse: 'string' },
  ECGCAD_FHIR_AUTH: { path: ['fhir', 'auth', 'type'], parse: 'string' },
  ECGCAD_FHIR_TOKEN_URL: { path: ['fhir', 'auth', 'tokenUrl'], parse: 'string' },
  ECGCAD_FHIR_CLIENT_ID: { path: ['fhir', 'auth', 'clientId'], parse: 'string' },
  ECGCAD_FHIR_CLIENT_SECRET: { path: ['fhir', 'auth', 'clientSecret'], parse: 'string' },
  ECGCAD_FHIR_PRIVATE_KEY_FILE: { path: ['fhir', 'auth', 'privateKeyFile'], parse: 'string' },
  ECGCAD_FHIR_KEY_ALG: { path: ['fhir', 'auth', 'alg'], parse: 'string' },
  ECGCAD_FHIR_SCOPE: { path: ['fhir', 'auth', 'scope'], parse: 'string' },
  ECGCAD_FHIR_ALLOW_HTTP: { path: ['fhir', 'allowInsecureHttp'], parse: 'bool' },
  ECGCAD_FHIR_WAVEFORM: { path: ['fhir', 'waveform'], parse: 'bool' },
  ECGCAD_FHIR_VALIDATION: { path: ['fhir', 'validation'], parse: 'string' },
  ECGCAD_OUT: { path: ['out'], parse: 'string' },
  ECGCAD_REJECTED_DIR: { path: ['rejectedDir'], parse: 'string' },
  ECGCAD_HTTP_HOST: { path: ['http', 'host'], parse: 'string' },
  ECGCAD_HTTP_PORT: { path: ['http', 'port'], parse: 'int' },
  ECGCAD_TLS_CERT_FILE: { path: ['http', 'tls', 'certFile'], parse: 'string' },
  ECGCAD_TLS_KEY_FILE: { path: ['http', 'tls', 'keyFile'], parse: 'string' },
  ECGCAD_TLS_CA_FILE: { path: ['http', 'tls', 'caFile'], parse: 'string' },
  ECGCAD_TLS_CLIENT_CERT: { path: ['http', 'tls', 'clientCert'], parse: 'string' },
  ECGCAD_HTTP_ALLOW_INSECURE: { path: ['http', 'allowInsecure'], parse: 'bool' },
  ECGCAD_OPS_TOKEN: { path: ['ops', 'token'], parse: 'string' },
  ECGCAD_OPS_USERS: { path: ['ops', 'users'], parse: 'list' },
  ECGCAD_MAX_INFER_DEPTH: { path: ['backpressure', 'maxInferDepth'], parse: 'int' },
  ECGCAD_PUBLIC_URL: { path: ['http', 'publicUrl'], parse: 'string' },
  ECGCAD_API_KEYS: { path: ['http', 'apiKeys'], parse: 'list' },
  ECGCAD_DIMSE_PORT: { path: ['dimse', 'port'], parse: 'int' },
  ECGCAD_AE_TITLE: { path: ['dimse', 'aeTitle'], parse: 'string' },
  ECGCAD_DIMSE_HOST: { path: ['dimse', 'host'], parse: 'string' },
  ECGCAD_DIMSE_ALLOW_INSECURE: { path: ['dimse', 'allowInsecure'], parse: 'bool' },
  ECGCAD_DIMSE_ALLOWED_AE: { path: ['dimse', 'allowedCallingAeTitles'], parse: 'list' },
  ECGCAD_DIMSE_TLS_CERT: { path: ['dimse', 'tls', 'certFile'], parse: 'string' },
  ECGCAD_DIMSE_TLS_KEY: { path: ['dimse', 'tls', 'keyFile'], parse: 'string' },
  ECGCAD_DIMSE_TLS_CA: { path: ['dimse', 'tls', 'caFile'], parse: 'string' },
  ECGCAD_FOLDER: { path: ['folder', 'dir'], parse: 'string' },
  ECGCAD_LOG_LEVEL: { path: ['log', 'level'], parse: 'string' },
  ECGCAD_PTP_ENABLED: { path: ['ptp', 'enabled'], parse: 'bool' },
  ECGCAD_PTP_MODEL: { path: ['ptp', 'model'], parse: 'string' },
  ECGCAD_PTP_MATRIX_FILE: { path: ['ptp', 'matrixFile'], parse: 'string' },
  ECGCAD_AUDIT_SINK: { path: ['audit', 'sink'], parse: 'string' },
  ECGCAD_AUDIT_FILE: { path: ['audit', 'file'], parse: 'string' },
  ECGCAD_AUDIT_FHIR_URL: { path: ['audit', 'fhirUrl'], parse: 'string' },
  ECGCAD_MONITOR_ENABLED: { path: ['monitor', 'enabled'], parse: 'bool' },
  ECGCAD_ATTRIBUTION: { path: ['attribution', 'when'], parse: 'string' },
  ECGCAD_CDS_ENABLED: { path: ['cds', 'enabled'], parse: 'bool' },
  ECGCAD_CDS_BASE_URL: { path: ['cds', 'baseUrl'], parse: 'string' },
  ECGCAD_CDS_APP_LAUNCH_URL: { path: ['cds', 'appLaunchUrl'], parse: 'string' },
};

function setPath(target: Record<string, unknown>, path: string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[path[path.length - 1] as string] = value;
}

function parseEnvValue(name: string, raw: string, parse: 'string' | 'int' | 'list' | 'bool'): unknown {
  switch (parse) {
    case 'int': {
      if (!/^\d+$/.test(raw.trim())) throw new ConfigError([`${name}: must be a whole number`]);
      return Number(raw.trim());
    }
    case 'list':
      return raw
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s.length > 0);
    case 'bool':
      return raw === 'true' || raw === '1';
    default:
      return raw;
  }
}

/** Options of {@link loadConfig}. */
export interface LoadConfigOptions {
  /** Config file path; default ECGCAD_CONFIG, else none. */
  file?: string;
  /** Environment; default process.env. */
  env?: NodeJS.ProcessEnv;
  /** Values that win over file and environment (command-line flags). */
  overrides?: Array<{ path: string[]; value: unknown }>;
}

/** Reads, merges and validates the configuration. Throws ConfigError with one line per bad key. */
export function loadConfig(options: LoadConfigOptions = {}): EngineConfig {
  const env = options.env ?? process.env;
  const file = options.file ?? env.ECGCAD_CONFIG;
  let raw: Record<string, unknown> = {};
  if (file) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      throw new ConfigError([`config file: cannot read ${file}`]);
    }
    try {
      const parsed: unknown = JSON.parse(text);
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
      raw = parsed as Record<string, unknown>;
    } catch {
      throw new ConfigError([`config file: ${file} is not a JSON object`]);
    }
  }
  for (const [name, spec] of Object.entries(ENV_KEYS)) {
    const value = env[name];
    if (value !== undefined && value !== '') setPath(raw, spec.path, parseEnvValue(name, value, spec.parse));
  }
  for (const { path, value } of options.overrides ?? []) {
    if (value !== undefined) setPath(raw, path, value);
  }
  const result = configSchema.safeParse(raw);
  if (!result.success) {
    throw new ConfigError(
      result.error.issues.map((issue) => {
        const key = issue.path.join('.') || '(root)';
        // Never echo a value: it might be a secret.
        return `${key}: ${issue.message}`;
      }),
    );
  }
  return result.data;
}

/** The configuration with secrets replaced, for logs and `--print-config`. */
export function redactedConfig(config: EngineConfig): EngineConfig {
  return {
    ...config,
    redis: {
      ...config.redis,
      url: config.redis.url.replace(/\/\/[^@/]*@/, '//***@'),
      ...(config.redis.password ? { password: '***' } : {}),
    },
    ops: {
      ...config.ops,
      ...(config.ops.token ? { token: '***' } : {}),
      users: config.ops.users.map((user) => (user.token ? { ...user, token: '***' } : user)),
    },
    fhir: {
      ...config.fhir,
      ...(config.fhir.bearerToken ? { bearerToken: '***' } : {}),
      ...(config.fhir.auth?.type === 'client-credentials'
        ? { auth: { ...config.fhir.auth, clientSecret: '***' } }
        : {}),
    },
    http: { ...config.http, apiKeys: config.http.apiKeys.map(() => '***') },
  };
}
