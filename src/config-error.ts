// The one error a bad option value becomes (flag, variable or file:line); the CLI prints it as
// one line and exits 2. Its own file so that config.ts and config-redis.ts both throw it without
// importing each other at run time.
export class ConfigError extends Error {}
