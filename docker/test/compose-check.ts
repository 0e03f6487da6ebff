import { existsSync } from 'node:fs';
import { join } from 'node:path';

/**
 * A structural check of a compose file against the Compose Specification, written by hand: this
 * repository has no JSON-schema validator and no Docker engine, and Debian's docker-compose 1.29
 * pulls in the whole engine (docker.io) to parse a YAML file. It checks what a typo or a stale
 * edit breaks: the top-level and service keys the spec allows, that each service has an image or
 * a build whose context and Dockerfile exist, the shapes of command, environment, ports, expose,
 * healthcheck and durations, that depends_on names real services (and service_healthy ones that
 * have a healthcheck), and that named volumes are declared and bind mounts exist.
 * It does not check the spec's rarely used service options beyond their names.
 *
 * @param doc the parsed compose file
 * @param dir the directory of the compose file (relative paths start there)
 * @returns one line per problem; empty when the file passes
 */
export function composeProblems(doc: unknown, dir: string): string[] {
  const problems: string[] = [];
  const bad = (where: string, what: string): void => void problems.push(`${where}: ${what}`);
  if (!isMap(doc)) return ['the file is not a mapping'];

  for (const key of Object.keys(doc)) if (!TOP_LEVEL.has(key) && !key.startsWith('x-')) bad(key, 'not a top-level key of the Compose Specification');
  const services = doc.services;
  if (!isMap(services) || Object.keys(services).length === 0) return [...problems, 'services: missing or empty'];
  const volumes = doc.volumes ?? {};
  if (!isMap(volumes)) bad('volumes', 'must be a mapping of volume names');
  const declaredVolumes = new Set(isMap(volumes) ? Object.keys(volumes) : []);
  for (const [name, v] of isMap(volumes) ? Object.entries(volumes) : []) {
    if (v !== null && !isMap(v)) bad(`volumes.${name}`, 'must be a mapping or empty');
  }

  for (const [name, service] of Object.entries(services)) {
    const at = `services.${name}`;
    if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(name)) bad(at, 'not a valid service name');
    if (!isMap(service)) {
      bad(at, 'must be a mapping');
      continue;
    }
    for (const key of Object.keys(service)) if (!SERVICE_KEYS.has(key) && !key.startsWith('x-')) bad(`${at}.${key}`, 'not a service key of the Compose Specification');
    if (service.image === undefined && service.build === undefined) bad(at, 'needs an image or a build');
    if (service.image !== undefined && (typeof service.image !== 'string' || service.image === '')) bad(`${at}.image`, 'must be a non-empty string');

    if (service.build !== undefined) {
      const build = typeof service.build === 'string' ? { context: service.build } : service.build;
      if (!isMap(build) || typeof build.context !== 'string') bad(`${at}.build`, 'must be a path or a mapping with a context');
      else {
        const context = join(dir, build.context);
        if (!existsSync(context)) bad(`${at}.build.context`, `${build.context} does not exist`);
        const dockerfile = build.dockerfile ?? 'Dockerfile';
        if (typeof dockerfile !== 'string') bad(`${at}.build.dockerfile`, 'must be a string');
        else if (!existsSync(join(context, dockerfile))) bad(`${at}.build.dockerfile`, `${dockerfile} does not exist in ${build.context}`);
      }
    }

    for (const key of ['command', 'entrypoint'] as const) {
      const v = service[key];
      if (v !== undefined && typeof v !== 'string' && !isStringList(v)) bad(`${at}.${key}`, 'must be a string or a list of strings');
    }

    const env = service.environment;
    if (env !== undefined) {
      if (Array.isArray(env)) {
        for (const e of env) if (typeof e !== 'string' || !/^[^=\s]+(=.*)?$/.test(e)) bad(`${at}.environment`, `${JSON.stringify(e)} is not NAME=value`);
      } else if (isMap(env)) {
        for (const [k, v] of Object.entries(env)) {
          if (v !== null && !['string', 'number', 'boolean'].includes(typeof v)) bad(`${at}.environment.${k}`, 'must be a string, number, boolean or empty');
        }
      } else bad(`${at}.environment`, 'must be a mapping or a list');
    }

    if (service.ports !== undefined) {
      if (!Array.isArray(service.ports)) bad(`${at}.ports`, 'must be a list');
      else for (const p of service.ports) if (!isPort(p)) bad(`${at}.ports`, `${JSON.stringify(p)} is not [ip:][host:]container[/protocol]`);
    }
    if (service.expose !== undefined) {
      if (!Array.isArray(service.expose)) bad(`${at}.expose`, 'must be a list');
      else for (const p of service.expose) if (!/^\d+(-\d+)?(\/(tcp|udp))?$/.test(String(p))) bad(`${at}.expose`, `${JSON.stringify(p)} is not a port`);
    }

    const deps = service.depends_on;
    if (deps !== undefined) {
      const entries: [string, unknown][] = Array.isArray(deps) ? deps.map((d) => [String(d), {}]) : isMap(deps) ? Object.entries(deps) : [];
      if (!Array.isArray(deps) && !isMap(deps)) bad(`${at}.depends_on`, 'must be a list or a mapping');
      for (const [dep, cond] of entries) {
        if (dep === name) bad(`${at}.depends_on`, 'a service cannot depend on itself');
        if (!(dep in services)) bad(`${at}.depends_on`, `${dep} is not a service`);
        if (!isMap(cond)) {
          bad(`${at}.depends_on.${dep}`, 'must be a mapping');
          continue;
        }
        const condition = cond.condition ?? 'service_started';
        if (!DEPENDS_CONDITIONS.has(String(condition))) bad(`${at}.depends_on.${dep}.condition`, `${String(condition)} is not a condition`);
        const target = services[dep];
        if (condition === 'service_healthy' && isMap(target) && target.healthcheck === undefined) bad(`${at}.depends_on.${dep}`, `service_healthy but ${dep} has no healthcheck`);
      }
    }

    const hc = service.healthcheck;
    if (hc !== undefined) {
      if (!isMap(hc)) bad(`${at}.healthcheck`, 'must be a mapping');
      else {
        for (const key of Object.keys(hc)) if (!HEALTHCHECK_KEYS.has(key)) bad(`${at}.healthcheck.${key}`, 'not a healthcheck key');
        const test = hc.test;
        if (!(typeof test === 'string' || (isStringList(test) && ['NONE', 'CMD', 'CMD-SHELL'].includes(test[0] ?? '')))) {
          bad(`${at}.healthcheck.test`, 'must be a string or a list starting with NONE, CMD or CMD-SHELL');
        }
        for (const key of ['interval', 'timeout', 'start_period', 'start_interval']) if (hc[key] !== undefined && !isDuration(hc[key])) bad(`${at}.healthcheck.${key}`, 'not a duration');
        if (hc.retries !== undefined && !(Number.isInteger(hc.retries) && (hc.retries as number) >= 0)) bad(`${at}.healthcheck.retries`, 'must be a whole number');
      }
    }
    if (service.stop_grace_period !== undefined && !isDuration(service.stop_grace_period)) bad(`${at}.stop_grace_period`, 'not a duration');

    if (service.volumes !== undefined) {
      if (!Array.isArray(service.volumes)) bad(`${at}.volumes`, 'must be a list');
      else
        for (const v of service.volumes) {
          if (typeof v !== 'string') {
            if (!isMap(v) || typeof v.target !== 'string') bad(`${at}.volumes`, `${JSON.stringify(v)} needs a target`);
            continue;
          }
          const [source, target, mode, ...rest] = v.split(':');
          if (target === undefined) continue; // an anonymous volume
          if (!target.startsWith('/') || rest.length > 0) bad(`${at}.volumes`, `${v} is not source:/container/path[:mode]`);
          if (mode !== undefined && !/^(ro|rw|z|Z|cached|delegated|consistent|nocopy)(,(ro|rw|z|Z|cached|delegated|consistent|nocopy))*$/.test(mode)) {
            bad(`${at}.volumes`, `${v}: ${mode} is not an access mode`);
          }
          if (/^[./~]/.test(source!)) {
            if (source!.startsWith('.') && !existsSync(join(dir, source!))) bad(`${at}.volumes`, `${source} does not exist`);
          } else if (!declaredVolumes.has(source!)) bad(`${at}.volumes`, `${source} is not declared under the top-level volumes`);
        }
    }
  }
  return problems;
}

function isMap(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isStringList(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((s) => typeof s === 'string');
}

/** Compose durations: 1m30s, 500ms, 10s. */
function isDuration(v: unknown): boolean {
  return typeof v === 'string' && /^(\d+(\.\d+)?(h|m|s|ms|us|ns))+$/.test(v);
}

function isPort(p: unknown): boolean {
  if (typeof p === 'number') return Number.isInteger(p) && p > 0 && p < 65536;
  if (isMap(p)) return p.target !== undefined;
  return typeof p === 'string' && /^(((\d{1,3}\.){3}\d{1,3}|\[[0-9a-fA-F:]+\]):)?(\d+(-\d+)?:)?\d+(-\d+)?(\/(tcp|udp|sctp))?$/.test(p);
}

const TOP_LEVEL = new Set(['version', 'name', 'include', 'services', 'networks', 'volumes', 'secrets', 'configs', 'models']);

const DEPENDS_CONDITIONS = new Set(['service_started', 'service_healthy', 'service_completed_successfully']);

const HEALTHCHECK_KEYS = new Set(['test', 'interval', 'timeout', 'retries', 'start_period', 'start_interval', 'disable']);

// The service keys the Compose Specification lists.
const SERVICE_KEYS = new Set(
  `annotations attach blkio_config build cap_add cap_drop cgroup cgroup_parent command configs container_name
   cpu_count cpu_percent cpu_period cpu_quota cpu_rt_period cpu_rt_runtime cpu_shares cpus cpuset credential_spec
   depends_on deploy develop device_cgroup_rules devices dns dns_opt dns_search domainname entrypoint env_file
   environment expose extends external_links extra_hosts gpus group_add healthcheck hostname image init ipc isolation
   labels label_file links logging mac_address mem_limit mem_reservation mem_swappiness memswap_limit models
   network_mode networks oom_kill_disable oom_score_adj pid pids_limit platform ports post_start pre_stop privileged
   profiles provider pull_policy read_only restart runtime scale secrets security_opt shm_size stdin_open
   stop_grace_period stop_signal storage_opt sysctls tmpfs tty ulimits use_api_socket user userns_mode uts volumes
   volumes_from working_dir`.split(/\s+/),
);
