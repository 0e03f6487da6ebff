import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = new URL('../..', import.meta.url).pathname;

/** The repository root, the build context of docker/Dockerfile. */
export const REPO_ROOT = ROOT;

/**
 * The environment every podman command of the tests runs in: CONTAINERS_CONF names the settings
 * that make podman work on the CI machines (docker/test/containers.conf says which and why).
 */
export const PODMAN_ENV: NodeJS.ProcessEnv = { ...process.env, CONTAINERS_CONF: `${ROOT}docker/test/containers.conf` };

/** Why podman cannot start here, or undefined when it can (`podman info` answers). */
export function podmanProblem(): string | undefined {
  const r = spawnSync('podman', ['info', '--format', '{{.Host.OCIRuntime.Name}}'], { env: PODMAN_ENV, encoding: 'utf8', timeout: 60_000 });
  if (r.error) return (r.error as NodeJS.ErrnoException).code === 'ENOENT' ? 'podman is not installed (npm run setup installs it)' : `podman info: ${r.error.message}`;
  if (r.status !== 0) return `podman info failed: ${r.stderr.trim().split('\n').pop() ?? `exit ${r.status}`}`;
  return undefined;
}

/**
 * Runs `cmd args` with the podman environment; resolves with its trimmed stdout (and its stderr
 * after it with `both`), rejects with its stderr.
 */
export async function sh(cmd: string, args: string[], opts: { timeout?: number; both?: boolean } = {}): Promise<string> {
  try {
    const { stdout, stderr } = await run(cmd, args, { env: PODMAN_ENV, cwd: ROOT, timeout: opts.timeout ?? 120_000, maxBuffer: 64 << 20 });
    return (opts.both ? `${stdout}\n${stderr}` : stdout).trim();
  } catch (e) {
    const err = e as Error & { stderr?: string; stdout?: string };
    throw new Error(`${cmd} ${args.join(' ')} failed: ${(err.stderr || err.stdout || err.message).trim().slice(-2000)}`, { cause: e });
  }
}

/** `podman args...` */
export const podman = (args: string[], opts?: { timeout?: number; both?: boolean }): Promise<string> => sh('podman', args, opts);

/** What exists in podman's storage, each kind as a sorted list of names (images: id and name). */
export interface PodmanObjects {
  containers: string[];
  pods: string[];
  images: string[];
  volumes: string[];
  networks: string[];
  secrets: string[];
}

/**
 * What exists in podman's storage: containers, pods, images (with intermediate ones), volumes,
 * networks and secrets, to tell what a test left behind.
 */
export async function podmanObjects(): Promise<PodmanObjects> {
  const list = async (args: string[]): Promise<string[]> => (await podman(args)).split('\n').filter(Boolean).sort();
  return {
    containers: await list(['ps', '--all', '--format', '{{.Names}}']),
    pods: await list(['pod', 'ps', '--format', '{{.Name}}']),
    images: await list(['images', '--all', '--format', '{{.ID}} {{.Repository}}:{{.Tag}}']),
    volumes: await list(['volume', 'ls', '--format', '{{.Name}}']),
    networks: await list(['network', 'ls', '--format', '{{.Name}}']),
    secrets: await list(['secret', 'ls', '--format', '{{.Name}}']),
  };
}

