// Structured JSON logs on stdout (one object per line), as log pipelines expect.
import winston from 'winston';

export function createLogger(level = 'info'): winston.Logger {
  return winston.createLogger({
    level,
    format: winston.format.combine(
      winston.format.timestamp(),
      winston.format.errors({ stack: false }),
      winston.format.json(),
    ),
    defaultMeta: { component: 'hostns-operator' },
    transports: [new winston.transports.Console()],
  });
}

/** A logger that drops everything (tests that do not care). */
export function silentLogger(): winston.Logger {
  return winston.createLogger({ silent: true, transports: [new winston.transports.Console({ silent: true })] });
}
