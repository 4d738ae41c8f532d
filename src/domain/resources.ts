/** ECS `Resource` lists (CPU, MEMORY, PORTS, PORTS_UDP) and the reservation arithmetic on them. */
import type { Resource } from '@aws-sdk/client-ecs';
import type { InstanceCapacity, InstanceFacts, PlacementInstance, TaskDemand } from '../scheduler/index.js';
import type { ContainerInstanceRecord, Reservation, TaskDefinitionRecord } from './records.js';
import type { Wire } from './context.js';

type Resources = Wire<Resource>[];

const integer = (resources: Resources | undefined, name: string): number =>
  resources?.find((r) => r.name === name)?.integerValue ?? 0;
const ports = (resources: Resources | undefined, name: string): number[] =>
  (resources?.find((r) => r.name === name)?.stringSetValue ?? []).map(Number).filter(Number.isInteger);

const integerResource = (name: string, value: number): Wire<Resource> =>
  ({ name, type: 'INTEGER', doubleValue: 0, longValue: 0, integerValue: value });
const portsResource = (name: string, values: Iterable<number>): Wire<Resource> =>
  ({ name, type: 'STRINGSET', doubleValue: 0, longValue: 0, integerValue: 0, stringSetValue: [...new Set(values)].sort((a, b) => a - b).map(String) });

/** Normalizes what an agent registers: integers for CPU/MEMORY, port sets for PORTS/PORTS_UDP. */
export function normalizeResources(resources: Resources | undefined): Resources {
  return [
    integerResource('CPU', integer(resources, 'CPU')),
    integerResource('MEMORY', integer(resources, 'MEMORY')),
    portsResource('PORTS', ports(resources, 'PORTS')),
    portsResource('PORTS_UDP', ports(resources, 'PORTS_UDP')),
  ];
}

/** `resources` after `reservation` is taken (sign 1) or given back (sign -1). */
export function applyReservation(resources: Resources | undefined, r: Reservation, sign: 1 | -1): Resources {
  const tcp = new Set(ports(resources, 'PORTS'));
  const udp = new Set(ports(resources, 'PORTS_UDP'));
  for (const p of r.tcpPorts) { if (sign > 0) tcp.add(p); else tcp.delete(p); }
  for (const p of r.udpPorts) { if (sign > 0) udp.add(p); else udp.delete(p); }
  return [
    integerResource('CPU', integer(resources, 'CPU') - sign * r.cpu),
    integerResource('MEMORY', integer(resources, 'MEMORY') - sign * r.memory),
    portsResource('PORTS', tcp),
    portsResource('PORTS_UDP', udp),
  ];
}

/** The instance as the scheduler sees it. */
export function capacityOf(record: ContainerInstanceRecord): InstanceCapacity {
  return {
    containerInstanceArn: record.containerInstanceArn,
    status: record.status,
    agentConnected: record.agentConnected,
    cpu: integer(record.remainingResources, 'CPU'),
    memory: integer(record.remainingResources, 'MEMORY'),
    tcpPortsInUse: new Set(ports(record.remainingResources, 'PORTS')),
    udpPortsInUse: new Set(ports(record.remainingResources, 'PORTS_UDP')),
  };
}

export interface ContainerSizing { name: string; cpu?: number; memory?: number; memoryReservation?: number }

/**
 * What one task of `definition` takes, with container overrides applied: task-level cpu/memory
 * when set, else the sum over containers (memoryReservation when set, else memory, as ECS
 * places); static host ports (bridge hostPort > 0, or containerPort in host mode).
 */
export function reservationOf(definition: TaskDefinitionRecord, sizing: ContainerSizing[]): TaskDemand {
  const tcpPorts: number[] = [];
  const udpPorts: number[] = [];
  let dynamicTcpPorts = 0;
  let dynamicUdpPorts = 0;
  for (const p of portMappingsOf(definition)) {
    const hostPort = definition.networkMode === 'host' ? p.containerPort : p.hostPort;
    if (hostPort) (p.protocol === 'udp' ? udpPorts : tcpPorts).push(hostPort);
    else if (p.protocol === 'udp') dynamicUdpPorts++;
    else dynamicTcpPorts++;
  }
  const sum = (f: (s: ContainerSizing) => number) => sizing.reduce((a, s) => a + f(s), 0);
  return {
    cpu: definition.cpu !== undefined ? Number(definition.cpu) : sum((s) => s.cpu ?? 0),
    memory: definition.memory !== undefined ? Number(definition.memory) : sum((s) => s.memoryReservation ?? s.memory ?? 0),
    tcpPorts,
    udpPorts,
    dynamicTcpPorts,
    dynamicUdpPorts,
  };
}

/**
 * The port mappings of `definition`, in the one order both placement and the agent's manifest use
 * (containers, then mappings, as defined), so the n-th dynamic host port placement picked goes to
 * the n-th mapping without a host port. `none` mode maps nothing.
 */
function portMappingsOf(definition: TaskDefinitionRecord) {
  if (definition.networkMode === 'none') return [];
  return (definition.containerDefinitions ?? []).flatMap((c) => (c.portMappings ?? []).filter((p) => p.containerPort !== undefined));
}

/** What a placed task holds on its instance: its demand, with the dynamic host ports it was given. */
export function reservationFor(demand: TaskDemand, placement: { tcpHostPorts: number[]; udpHostPorts: number[] }): Reservation {
  return {
    cpu: demand.cpu,
    memory: demand.memory,
    tcpPorts: [...demand.tcpPorts, ...placement.tcpHostPorts],
    udpPorts: [...demand.udpPorts, ...placement.udpHostPorts],
  };
}

/** The instance as placement sees it: its capacity, what a memberOf can ask of it, its tasks per group. */
export function placementInstanceOf(record: ContainerInstanceRecord, facts: InstanceFacts, tasksByGroup: ReadonlyMap<string, number>): PlacementInstance {
  return { ...capacityOf(record), facts, tasksByGroup };
}
