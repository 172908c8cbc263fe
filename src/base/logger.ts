/**
 * Logging is two functions supplied by the embedder, as wireguard-go's Logger: verbose for the
 * protocol's running commentary, error for what an operator must see. A missing function means that
 * level is silent. Keys never reach a log line: peers print as a shortened public key.
 */
export interface Logger {
  verbose?: (msg: string) => void;
  error?: (msg: string) => void;
}

export const silentLogger: Logger = {};

/** LOG_LEVEL=verbose|error|silent, as wireguard-go reads it; prefixes each line with the interface name. */
export function consoleLogger(level: 'verbose' | 'error' | 'silent', prefix: string): Logger {
  const stamp = (): string => new Date().toISOString().replace('T', ' ').slice(0, 19);
  const logger: Logger = {};
  if (level === 'verbose') logger.verbose = (m) => console.log(`DEBUG: (${prefix}) ${stamp()} ${m}`);
  if (level !== 'silent') logger.error = (m) => console.error(`ERROR: (${prefix}) ${stamp()} ${m}`);
  return logger;
}
