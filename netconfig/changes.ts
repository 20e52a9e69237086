// The undoable system changes the tunnel makes (NetChange), their human-readable form, and their validation when read back.
import { isAbsolute } from 'node:path';
import {
  checkInterfaceName,
  checkIPv4Interface,
  checkIPv4Network,
  checkNftTableName,
  checkSysctlKey,
  checkSysctlValue,
} from './validate';

/** Suffix of the copy of a resolv.conf file kept while ours is in place. */
export const RESOLV_BACKUP_SUFFIX = '.4over6-backup';

/**
 * Where the original of a resolv.conf we replace is kept: beside it, except inside /etc/netns/<ns>/.
 * `ip netns exec` bind-mounts every entry of that folder over /etc, so a backup there makes every
 * command run in the namespace print "Bind /etc/netns/<ns>/resolv.conf.4over6-backup -> ... failed";
 * there the backup goes beside the folder, as /etc/netns/.<ns>.<file>.4over6-backup.
 */
export function resolvBackupPath(path: string): string {
  const inNetns = /^\/etc\/netns\/([^/]+)\/([^/]+)$/.exec(path);
  if (inNetns && inNetns[1] !== '.' && inNetns[1] !== '..') return `/etc/netns/.${inNetns[1]}.${inNetns[2]}${RESOLV_BACKUP_SUFFIX}`;
  return path + RESOLV_BACKUP_SUFFIX;
}

export type NetChange =
  | { kind: 'link-address'; dev: string; cidr: string }
  | { kind: 'link-up'; dev: string }
  | { kind: 'link-mtu'; dev: string; previous: number }
  | { kind: 'route'; dest: string; dev: string }
  /**
   * DNS by replacing a resolv.conf file; the original is moved to backupPath (= resolvBackupPath(path)).
   * created: there was no file at path before, so undo removes ours instead of restoring a backup.
   */
  | { kind: 'resolv-conf'; path: string; backupPath: string; created?: boolean }
  /** systemd-resolved per-link DNS; undone by `resolvectl revert <dev>`. */
  | { kind: 'resolved-dns'; dev: string }
  | { kind: 'nft-table'; family: 'inet' | 'ip'; name: string }
  | { kind: 'sysctl'; key: string; previous: string }
  /**
   * A (non-persistent) TUN device we opened: the gateway's. It vanishes with the process holding it, so
   * undo removes nothing; its record marks which changes were made on it (see NetConfigurator.undoAll).
   */
  | { kind: 'tun-device'; dev: string };

export type NetChangeKind = NetChange['kind'];

/** One line for a UI listing "what the helper changed". */
export function describeChange(change: NetChange): string {
  switch (change.kind) {
    case 'link-address':
      return `address ${change.cidr} on ${change.dev}`;
    case 'link-up':
      return `${change.dev} brought up`;
    case 'link-mtu':
      return `MTU of ${change.dev} changed (was ${change.previous})`;
    case 'route':
      return `route ${change.dest} via ${change.dev}`;
    case 'resolv-conf':
      return change.created ? `DNS servers written to new ${change.path}` : `DNS servers written to ${change.path} (original in ${change.backupPath})`;
    case 'resolved-dns':
      return `systemd-resolved DNS on ${change.dev}`;
    case 'nft-table':
      // The client's guard table (netconfig/guard-table.ts) says what it is for.
      return change.name === 'fourover6-guard'
        ? `kill switch: nftables table ${change.family} ${change.name} (IPv4 only through the tunnel)`
        : `nftables table ${change.family} ${change.name}`;
    case 'sysctl':
      return `sysctl ${change.key} changed (was ${change.previous})`;
    case 'tun-device':
      return `TUN device ${change.dev}`;
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Validates a change read back from a journal. Every field is re-checked because undo turns it into
 * commands and file operations; throws a descriptive error for anything malformed.
 */
export function parseChange(value: unknown): NetChange {
  if (!isRecord(value)) throw new Error('change is not an object');
  switch (value.kind) {
    case 'link-address':
      return { kind: 'link-address', dev: checkInterfaceName(value.dev), cidr: checkIPv4Interface(value.cidr) };
    case 'link-up':
      return { kind: 'link-up', dev: checkInterfaceName(value.dev) };
    case 'link-mtu': {
      // The previous MTU is whatever the kernel had (loopback: 65536), so it is only checked for sanity.
      const previous = value.previous;
      if (typeof previous !== 'number' || !Number.isInteger(previous) || previous < 68 || previous > 0x7fffffff) {
        throw new Error(`invalid previous MTU ${JSON.stringify(previous)}`);
      }
      return { kind: 'link-mtu', dev: checkInterfaceName(value.dev), previous };
    }
    case 'route':
      return { kind: 'route', dest: checkIPv4Network(value.dest, 'route destination'), dev: checkInterfaceName(value.dev) };
    case 'resolv-conf': {
      const { path, backupPath, created } = value;
      if (typeof path !== 'string' || !isAbsolute(path) || path.includes('\0')) throw new Error(`invalid resolv.conf path ${JSON.stringify(path)}`);
      // Undo renames backupPath over path, so only ever accept the pair we create ourselves.
      // (path + suffix is what earlier versions wrote for /etc/netns/<ns>/ files too.)
      if (backupPath !== resolvBackupPath(path) && backupPath !== path + RESOLV_BACKUP_SUFFIX) throw new Error(`invalid resolv.conf backup path ${JSON.stringify(backupPath)}`);
      if (created !== undefined && typeof created !== 'boolean') throw new Error('invalid resolv-conf created flag');
      return created ? { kind: 'resolv-conf', path, backupPath, created } : { kind: 'resolv-conf', path, backupPath };
    }
    case 'resolved-dns':
      return { kind: 'resolved-dns', dev: checkInterfaceName(value.dev) };
    case 'nft-table':
      if (value.family !== 'inet' && value.family !== 'ip') throw new Error(`invalid nft family ${JSON.stringify(value.family)}`);
      return { kind: 'nft-table', family: value.family, name: checkNftTableName(value.name) };
    case 'sysctl':
      return { kind: 'sysctl', key: checkSysctlKey(value.key), previous: checkSysctlValue(value.previous) };
    case 'tun-device':
      return { kind: 'tun-device', dev: checkInterfaceName(value.dev) };
    default:
      throw new Error(`unknown change kind ${JSON.stringify(value.kind)}`);
  }
}
