/** How a host process tells its supervisor what to do next. */
export const EXIT_STOPPED = 0;
/** Restart me: memory limit reached, or `taskhost restart` (sysexits EX_TEMPFAIL). */
export const EXIT_RESTART = 75;
/** I could not start (bad config, damaged ledger...): restarting will not help (EX_CONFIG). */
export const EXIT_CANNOT_START = 78;
