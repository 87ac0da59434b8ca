/** The port the local host listens on unless PORT says otherwise (the Functions host's own), and csv2sql's default. */
export const LOCAL_HOST_PORT = 7071;
