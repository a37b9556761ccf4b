/** Where the built app lies (packages/app/dist/), as a file URL (see src/dist-dir.ts). */
export declare const APP_DIST_URL: string;
