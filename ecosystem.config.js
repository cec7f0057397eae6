// pm2 runs Starling's PRIMARY process: one instance in fork mode. The primary forks and
// re-forks its own node:cluster workers (--workers / STARLING_WORKERS); pm2's cluster mode
// would fork the primary itself and must not be used. pm2 restarts the primary if it exits;
// `pm2 stop`/`pm2 kill` send SIGINT, and the primary then stops its workers in order.
//
//   STARLING_REDIS=redis://10.0.0.5:6379 STARLING_WORKERS=4 pm2 start ecosystem.config.js
//
// Every flag can be given as STARLING_<FLAG> (see `starling --help`); the environment pm2 is
// started with is passed on. (An ES module: package.json says "type": "module"; pm2 reads the
// named export `apps`.)
export const apps = [
  {
    name: 'starling',
    script: 'bin/starling.js',
    cwd: import.meta.dirname,
    exec_mode: 'fork',
    instances: 1,
    autorestart: true,
    // Longer than the primary's own shutdown bound (workers get 5 s to close their clients).
    kill_timeout: 12_000,
    env: {
      NODE_ENV: 'production',
    },
  },
];
