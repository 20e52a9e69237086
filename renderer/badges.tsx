// Small labels used in more than one place.
import { LockIcon, UnlockIcon } from './icons';

export function EncryptionBadge({ on }: { on: boolean }) {
  return on
    ? <span className="badge badge-ok" title="Traffic is encrypted with the profile’s key"><LockIcon size={12} /> Encrypted</span>
    : <span className="badge badge-warn" title="Traffic crosses the network unencrypted"><UnlockIcon size={12} /> Not encrypted</span>;
}
