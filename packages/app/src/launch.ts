/** The SMART App Launch entry point (launch.html). */
export {};
