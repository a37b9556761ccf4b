/** The app's entry point (index.html): worklist and viewer. */
export {};
