/**
 * Where the built app lies (packages/app/dist/), as a file URL, for the engine that serves it at /app/. The same
 * relative URL is right from src/ (tests) and from dist/ (built), which both sit beside dist/.
 */
export const APP_DIST_URL: string = new URL('../dist/', import.meta.url).href;
