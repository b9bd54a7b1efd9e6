// Exit codes with a meaning for the master (gunicorn uses 3 and 4 the same way).
export const EXIT_BOOT_ERROR = 3;
export const EXIT_APP_LOAD_ERROR = 4;
/** The app threw outside any request's promise chain (uncaught exception, unhandled rejection). */
export const EXIT_UNCAUGHT = 70;
/** A bad setting: the command line or config was wrong (as argparse and commander's usage errors). */
export const EXIT_USAGE = 2;
