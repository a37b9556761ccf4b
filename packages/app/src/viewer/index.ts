/** The 12-lead viewer: pure rendering of an ECG and its result on ECG paper. */
export {};
