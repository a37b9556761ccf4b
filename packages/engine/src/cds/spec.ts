/**
 * The JSON shapes of CDS Hooks (HL7 CDS Hooks 2.0, https://cds-hooks.hl7.org/2.0/), written from the spec's tables
 * as zod schemas: the routes check each request against them (400 when it breaks them) and the tests check every
 * answer the service gives (discovery, cards) against them, so the service cannot drift from the spec unnoticed.
 * Where the spec says a JSON attribute is OPTIONAL, an empty or null value is not allowed: it is left out.
 */
import { z } from 'zod';

/** A non-empty string (the spec forbids `""` wherever a value is given). */
const text = z.string().min(1);

/** An absolute http(s) URL. */
const absoluteUrl = z.url({ protocol: /^https?$/ });

/** A prefetch template: a relative FHIR read or search, with `{{context.x}}` / `{{userPractitionerId}}` tokens. */
const prefetchTemplate = text.refine(
  (t) => !/^[a-z]+:\/\//i.test(t) && !t.startsWith('/'),
  'must be a relative FHIR URL',
);

/** One CDS Service in the discovery answer (spec: Discovery, Response). */
export const cdsServiceSchema = z
  .object({
    hook: text,
    title: text.optional(),
    description: text,
    id: text.regex(/^[A-Za-z0-9._~-]+$/, 'must be usable as one URL path segment'),
    prefetch: z.record(text, prefetchTemplate).optional(),
    usageRequirements: text.optional(),
  })
  .strict();

/** GET {baseUrl}/cds-services. */
export const discoverySchema = z.object({ services: z.array(cdsServiceSchema) }).strict();

/** spec: FHIR Resource Access, `fhirAuthorization`. */
export const fhirAuthorizationSchema = z.object({
  access_token: text,
  token_type: z.literal('Bearer'),
  expires_in: z.number().int().nonnegative(),
  scope: text,
  subject: text,
  patient: text.optional(),
});

/** POST {baseUrl}/cds-services/{id} (spec: Calling a CDS Service, HTTP Request). Unknown fields pass (extensions). */
export const cdsRequestSchema = z
  .object({
    hook: text,
    hookInstance: text,
    fhirServer: absoluteUrl.optional(),
    fhirAuthorization: fhirAuthorizationSchema.optional(),
    context: z.record(z.string(), z.unknown()),
    prefetch: z.record(z.string(), z.unknown().nullable()).optional(),
  })
  .refine((r) => r.fhirAuthorization === undefined || r.fhirServer !== undefined, {
    message: 'fhirServer is required when fhirAuthorization is given',
    path: ['fhirServer'],
  });

/** The context of patient-view, order-select and order-sign (the fields this service reads). */
export const patientContextSchema = z.object({
  userId: text.optional(),
  patientId: text,
  encounterId: text.optional(),
});

/** A CDS Hooks Coding (spec: Data Types, Coding). */
const codingSchema = z.object({ system: text, code: text, display: text.optional() }).strict();

/** spec: Card Attributes, Source. */
const sourceSchema = z
  .object({ label: text, url: absoluteUrl.optional(), icon: absoluteUrl.optional(), topic: codingSchema.optional() })
  .strict();

/** spec: Card Attributes, Link. `appContext` only on `smart` links. */
const linkSchema = z
  .object({
    label: text,
    url: absoluteUrl,
    type: z.enum(['absolute', 'smart']),
    appContext: text.optional(),
    autolaunchable: z.boolean().optional(),
  })
  .strict()
  .refine((l) => l.appContext === undefined || l.type === 'smart', 'appContext is only valid on smart links');

const suggestionSchema = z
  .object({
    label: text,
    uuid: text.optional(),
    isRecommended: z.boolean().optional(),
    actions: z.array(z.record(z.string(), z.unknown())).min(1).optional(),
  })
  .strict();

/** One card (spec: Card Attributes). */
export const cardSchema = z
  .object({
    uuid: text.optional(),
    summary: text.max(139, 'summary must be under 140 characters'),
    detail: text.optional(),
    indicator: z.enum(['info', 'warning', 'critical']),
    source: sourceSchema,
    suggestions: z.array(suggestionSchema).min(1).optional(),
    selectionBehavior: z.enum(['at-most-one', 'any']).optional(),
    overrideReasons: z
      .array(codingSchema.required({ display: true }))
      .min(1)
      .optional(),
    links: z.array(linkSchema).min(1).optional(),
  })
  .strict()
  .refine((c) => c.suggestions === undefined || c.selectionBehavior !== undefined, {
    message: 'selectionBehavior is required when suggestions are present',
    path: ['selectionBehavior'],
  });

/** The answer to a service call (spec: CDS Service Response). */
export const cdsResponseSchema = z
  .object({ cards: z.array(cardSchema), systemActions: z.array(z.record(z.string(), z.unknown())).min(1).optional() })
  .strict();

/** POST {baseUrl}/cds-services/{id}/feedback (spec: Feedback). */
export const feedbackSchema = z.object({
  feedback: z
    .array(
      z
        .object({
          card: text,
          outcome: z.enum(['accepted', 'overridden']),
          acceptedSuggestions: z
            .array(z.object({ id: text }))
            .min(1)
            .optional(),
          overrideReason: z.object({ reason: codingSchema.optional(), userComment: z.string().optional() }).optional(),
          outcomeTimestamp: text,
        })
        .refine((f) => f.outcome !== 'accepted' || f.acceptedSuggestions !== undefined, {
          message: 'acceptedSuggestions is required for an accepted outcome',
          path: ['acceptedSuggestions'],
        }),
    )
    .min(1),
});

export type CdsService = z.infer<typeof cdsServiceSchema>;
export type Discovery = z.infer<typeof discoverySchema>;
export type CdsRequest = z.infer<typeof cdsRequestSchema>;
export type Card = z.infer<typeof cardSchema>;
export type CdsResponse = z.infer<typeof cdsResponseSchema>;
export type CdsCoding = z.infer<typeof codingSchema>;
