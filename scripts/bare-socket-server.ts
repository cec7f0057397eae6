// The memory floor for idle connections in Node: a TCP server that answers CONNECT with CONNACK
// and PINGREQ with PINGRESP, holding nothing else per socket. Compare its RSS per connection with
// Starling's under the same swarm:
//   node --import tsx scripts/bare-socket-server.ts 18856 &
//   node bin/starling.js bench idle --url mqtt://127.0.0.1:18856 --clients 10000 --broker-pid $! --duration 3
import { createServer } from 'node:net';

const port = Number(process.argv[2] ?? 18856);
const connack = Buffer.from([0x20, 2, 0, 0]);
const pingresp = Buffer.from([0xd0, 0]);

const server = createServer((socket) => {
  let first = true;
  socket.on('data', (chunk) => {
    if (first) {
      first = false;
      socket.write(connack);
    } else if (chunk[0] === 0xc0) socket.write(pingresp);
  });
  socket.on('error', () => {});
});
server.maxConnections = 20000;
server.listen(port, '127.0.0.1', () => process.stderr.write(`bare socket server on 127.0.0.1:${port}\n`));
