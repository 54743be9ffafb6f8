// nginx and Caddy (Debian's packages) as reverse proxies in front of the shop, on 127.0.0.1,
// each writing its access log in the JSON a new user would configure: nginx's `escape=json`
// log_format as most guides give it, Caddy's default JSON access log. Each runs from a temp
// prefix of its own (config, pid, temp files); nothing outside the run's directory is touched.
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdirSync, writeFileSync } from "node:fs";
import { createServer, connect } from "node:net";
import { join } from "node:path";

/** The log_format most nginx JSON guides give (escape=json, nginx >= 1.11.8). */
const NGINX_JSON = `'{"time_local":"$time_local","remote_addr":"$remote_addr","remote_user":"$remote_user",` +
  `"request":"$request","status": "$status","body_bytes_sent":"$body_bytes_sent","request_time":"$request_time",` +
  `"upstream_response_time":"$upstream_response_time","http_referrer":"$http_referer",` +
  `"http_user_agent":"$http_user_agent","http_x_forwarded_for":"$http_x_forwarded_for"}'`;

/** A free port on 127.0.0.1 (closed again: the proxy binds it next). */
export async function freePort() {
  const s = createServer();
  s.listen(0, "127.0.0.1");
  await once(s, "listening");
  const addr = s.address();
  await new Promise((r) => s.close(r));
  if (addr === null || typeof addr === "string") throw new Error("no port");
  return addr.port;
}

/** Resolve once `port` accepts connections, or reject when `child` exits first or after `ms`. */
async function ready(child, port, ms, name, errors) {
  const until = Date.now() + ms;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${name} exited (${child.exitCode}): ${errors()}`);
    const ok = await new Promise((r) => {
      const c = connect(port, "127.0.0.1", () => (c.destroy(), r(true)));
      c.on("error", () => r(false));
    });
    if (ok) return;
    if (Date.now() > until) throw new Error(`${name} did not listen on ${port} within ${ms} ms: ${errors()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Start `cmd` and wait for it to listen on `port`; close() stops it with `signal` and waits for it.
 * `stdout`: a file descriptor its output goes to (HAProxy's and uvicorn's logs), else dropped.
 */
export async function run(name, cmd, args, port, signal, env = {}, stdout = "ignore") {
  let stderr = "";
  const child = spawn(cmd, args, { stdio: ["ignore", stdout, "pipe"], env: { ...process.env, ...env } });
  child.stderr.on("data", (d) => (stderr = (stderr + d).slice(-4000)));
  try {
    await ready(child, port, 20_000, name, () => stderr);
  } catch (e) {
    child.kill("SIGKILL");
    throw e;
  }
  return {
    async close() {
      if (child.exitCode !== null) return;
      const exited = once(child, "exit");
      child.kill(signal);
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** nginx proxying 127.0.0.1:<upstream>, logging JSON to `file`; its prefix is `<dir>/nginx-<prefix>`. */
async function startNginx(dir, prefix, upstream, file) {
  const root = join(dir, `nginx-${prefix}`);
  mkdirSync(join(root, "tmp"), { recursive: true });
  const port = await freePort();
  const t = join(root, "tmp");
  writeFileSync(join(root, "nginx.conf"), `
${process.getuid?.() === 0 ? "user root;" : ""}
worker_processes 1;
daemon off;
pid ${join(root, "nginx.pid")};
error_log ${join(root, "error.log")} warn;
events { worker_connections 4096; }
http {
  client_body_temp_path ${t}/body; proxy_temp_path ${t}/proxy; fastcgi_temp_path ${t}/fcgi;
  uwsgi_temp_path ${t}/uwsgi; scgi_temp_path ${t}/scgi;
  log_format json_combined escape=json ${NGINX_JSON};
  access_log ${file} json_combined;
  upstream shop { server 127.0.0.1:${upstream}; keepalive 64; }
  server {
    listen 127.0.0.1:${port};
    keepalive_timeout 60s;
    keepalive_requests 100000;
    location / {
      proxy_pass http://shop;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_max_temp_file_size 0;
    }
  }
}
`);
  const p = await run("nginx", "nginx", ["-p", root, "-c", join(root, "nginx.conf"), "-e", join(root, "error.log")], port, "SIGQUIT");
  return { port, close: p.close };
}

/** Caddy proxying 127.0.0.1:<upstream> with its default JSON access log in `file`. */
async function startCaddy(dir, prefix, upstream, file) {
  const root = join(dir, `caddy-${prefix}`);
  mkdirSync(root, { recursive: true });
  const port = await freePort();
  const conf = join(root, "Caddyfile");
  writeFileSync(conf, `{
  admin off
  auto_https off
  storage file_system ${join(root, "data")}
}
http://127.0.0.1:${port} {
  log {
    output file ${file} {
      roll_disabled
    }
    format json
  }
  reverse_proxy 127.0.0.1:${upstream}
}
`);
  const p = await run("caddy", "caddy", ["run", "--config", conf, "--adapter", "caddyfile"], port, "SIGINT",
    { HOME: root, XDG_DATA_HOME: join(root, "data"), XDG_CONFIG_HOME: join(root, "config") });
  return { port, close: p.close };
}

/** Proxies the harness can put in front of the shop. */
export const PROXIES = { "nginx-json": startNginx, caddy: startCaddy };
