// Placeholder until the cluster suite lands: no cluster test exists yet, so nothing to start.
export default async function setup(): Promise<void> {}
