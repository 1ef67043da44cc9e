// Test peer run inside test containers (and on the host) by the integration tests. Plain Node, no deps.
// Usage: node /opt/peer.mjs <mode> [args]
//   tcp-server PORT [HOST]           listen; echo everything back
//   tcp-sink PORT [HOST]             listen; read and discard
//   tcp-client HOST PORT [BYTES] [N] open N connections (default 1), send BYTES each, keep them open;
//                                    a connect that fails (refused, name not yet resolvable) is retried
//   tcp-pump HOST PORT RATE SECONDS   send RATE bytes/s for SECONDS over one connection, then hold it
//   udp-server PORT [HOST]           bind a UDP socket and discard datagrams
//   udp-send HOST PORT [INTERVAL_MS] send a datagram every INTERVAL_MS with sendto (unconnected)
//   udp-burst HOST PORT COUNT SIZE    send COUNT datagrams of SIZE bytes with sendto, then stay up
//   tcp-once HOST PORT BYTES [DELAY_MS] after DELAY_MS, connect, send BYTES, close (client closes first, so its
//                                    socket lingers in TIME_WAIT), then stay up
//   tcp-many PORT N                  listen on 127.0.0.1:PORT and open N loopback connections to it, holding both
//                                    ends (2N + 1 sockets in this process); prints "ready N" when all are up
import net from 'node:net';
import dgram from 'node:dgram';

const [mode, ...args] = process.argv.slice(2);
const log = (...a) => console.log(new Date().toISOString(), ...a);

switch (mode) {
  case 'tcp-server':
  case 'tcp-sink': {
    const [port, host] = args;
    const srv = net.createServer((s) => {
      s.on('error', () => {});
      if (mode === 'tcp-server') s.pipe(s); else s.resume();
    });
    srv.listen(Number(port), host || '::', () => log('listening', port));
    break;
  }
  case 'tcp-client': {
    const [host, port, bytes = '0', n = '1'] = args;
    // Containers start in parallel: a refused or unresolved connect is retried (every 200 ms, for 60 s).
    const open = (attempt) => {
      let connected = false;
      const s = net.connect(Number(port), host, () => {
        connected = true;
        if (Number(bytes) > 0) s.write(Buffer.alloc(Number(bytes), 120));
        log('connected', s.localPort);
      });
      s.on('data', () => {});
      s.on('error', (e) => {
        log('error', e.message);
        if (!connected && attempt < 300) setTimeout(() => open(attempt + 1), 200);
      });
    };
    for (let i = 0; i < Number(n); i++) open(0);
    setInterval(() => {}, 1 << 30);
    break;
  }
  case 'tcp-pump': {
    const [host, port, rate, seconds] = args.map((a, i) => (i === 0 ? a : Number(a)));
    const s = net.connect(port, host, () => {
      let t = 0;
      const iv = setInterval(() => {
        s.write(Buffer.alloc(Math.round(rate / 10), 120));
        if (++t >= seconds * 10) clearInterval(iv);
      }, 100);
    });
    s.on('data', () => {});
    s.on('error', (e) => log('error', e.message));
    setInterval(() => {}, 1 << 30);
    break;
  }
  case 'udp-server': {
    const [port, host] = args;
    const sock = dgram.createSocket(host && host.includes(':') ? 'udp6' : 'udp4');
    sock.on('message', () => {});
    sock.bind(Number(port), host || '0.0.0.0', () => log('udp bound', port));
    break;
  }
  case 'udp-send': {
    const [host, port, interval = '200'] = args;
    const sock = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
    setInterval(() => sock.send('ping', Number(port), host), Number(interval));
    break;
  }
  case 'udp-burst': {
    const [host, port, count, size] = args;
    const sock = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
    let sent = 0;
    // One at a time: each send waits for the previous one to leave the socket.
    const next = () => {
      if (sent === Number(count)) { log('sent', sent); return; }
      sock.send(Buffer.alloc(Number(size), 117), Number(port), host, (err) => {
        if (err) { log('error', err.message); return; }
        sent++;
        next();
      });
    };
    next();
    setInterval(() => {}, 1 << 30);
    break;
  }
  case 'tcp-once': {
    const [host, port, bytes, delay = '0'] = args;
    setTimeout(() => {
      const s = net.connect(Number(port), host, () => {
        log('connected', s.localPort);
        s.end(Buffer.alloc(Number(bytes), 119));
      });
      s.on('data', () => {});
      s.on('error', (e) => log('error', e.message));
      s.on('close', () => log('closed', s.localPort));
    }, Number(delay));
    setInterval(() => {}, 1 << 30);
    break;
  }
  case 'tcp-many': {
    const [port, n] = args.map(Number);
    const held = [];
    let said = false;
    const srv = net.createServer((s) => { held.push(s); s.on('error', () => {}); });
    srv.listen(port, '127.0.0.1', () => {
      let up = 0;
      // A few hundred connects in flight at a time: the accept backlog stays short.
      const next = () => {
        if (held.length / 2 >= n && up >= n) { if (!said) log('ready', n); said = true; return; }
        if (up >= n) { setTimeout(next, 50); return; }
        up++;
        const c = net.connect(port, '127.0.0.1', () => { held.push(c); next(); });
        c.on('error', (e) => log('error', e.message));
      };
      for (let i = 0; i < 200; i++) next();
    });
    setInterval(() => {}, 1 << 30);
    break;
  }
  default:
    console.error(`unknown mode ${mode}`);
    process.exit(2);
}
