// Keys and tokens of every API dialect: create (the secret is shown once), list, revoke.
import { useEffect, useState } from 'preact/hooks';
import { api, get, query, type Collection, type KeyInfo, type KindRules } from '../api';
import { Alert, ConfirmDialog, Dialog, errorText, fmtDate, PageHeader, useLoad } from '../ui';

const SCOPES = ['detect', 'verify', 'identify', 'read', 'write'] as const;

/** How a client presents each kind of credential (README "Keys"). */
const USAGE: Record<string, (key: string, user: string | null) => string> = {
  recognition: (k) => `x-api-key: ${k}   (CompreFace recognition service)`,
  detection: (k) => `x-api-key: ${k}   (CompreFace detection service)`,
  verification: (k) => `x-api-key: ${k}   (CompreFace verification service)`,
  findface: (k) => `Authorization: Token ${k}`,
  imageapi: (k) => `Authorization: Bearer ${k}   or   TOKEN: ${k}`,
  faceintellect: (k, u) => `HTTP Basic: user "${u}", password ${k}`,
  scans: (k, u) => `OAuth2 client credentials: client id "${u}", client secret ${k}`,
};

export function KeysPage() {
  const [showRevoked, setShowRevoked] = useState(false);
  const keys = useLoad(() => get<{ keys: KeyInfo[]; kinds: Record<string, KindRules> }>(`keys${query({ all: showRevoked })}`), [showRevoked]);
  const [creating, setCreating] = useState(false);
  const [created, setCreated] = useState<{ key: string; info: KeyInfo }>();
  const [revoking, setRevoking] = useState<KeyInfo>();
  return (
    <>
      <PageHeader title="Keys and tokens">
        <button type="button" class="primary" onClick={() => setCreating(true)}>
          New key
        </button>
      </PageHeader>
      <label class="checkbox">
        <input type="checkbox" checked={showRevoked} onChange={(e) => setShowRevoked(e.currentTarget.checked)} /> Show revoked keys
      </label>
      {keys.error && <Alert>{keys.error}</Alert>}
      <table class="table">
        <caption class="visually-hidden">API keys</caption>
        <thead>
          <tr>
            <th scope="col">Key</th>
            <th scope="col">Kind</th>
            <th scope="col">Name</th>
            <th scope="col">User / client id</th>
            <th scope="col">Scopes</th>
            <th scope="col">Collections</th>
            <th scope="col">Created</th>
            <th scope="col">
              <span class="visually-hidden">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {keys.data?.keys.map((k) => (
            <tr key={k.id} class={k.revokedAt ? 'revoked' : ''} data-key-prefix={k.prefix}>
              <th scope="row">
                <code>{k.prefix}…</code>
              </th>
              <td>{k.kind}</td>
              <td>{k.name ?? ''}</td>
              <td>{k.user ?? ''}</td>
              <td>{k.scopes.join(', ')}</td>
              <td>{k.collections.join(', ')}</td>
              <td>{fmtDate(k.createdAt)}</td>
              <td class="row-actions">
                {k.revokedAt ? (
                  <span class="muted">revoked {fmtDate(k.revokedAt)}</span>
                ) : (
                  <button type="button" class="danger" onClick={() => setRevoking(k)} aria-label={`Revoke key ${k.prefix}`}>
                    Revoke
                  </button>
                )}
              </td>
            </tr>
          ))}
          {keys.data && !keys.data.keys.length && (
            <tr>
              <td colSpan={8} class="empty">
                No key yet.
              </td>
            </tr>
          )}
        </tbody>
      </table>
      {keys.data && (
        <CreateKeyDialog
          open={creating}
          kinds={keys.data.kinds}
          onClose={() => setCreating(false)}
          onCreated={(r) => {
            setCreating(false);
            setCreated(r);
            keys.reload();
          }}
        />
      )}
      <Dialog title="Key created" open={created !== undefined} onClose={() => setCreated(undefined)}>
        {created && (
          <>
            <Alert kind="info">This secret is shown once and never again (only its hash is kept): copy it now.</Alert>
            <div class="field">
              <label for="keys-secret">Secret</label>
              <input id="keys-secret" readOnly value={created.key} class="mono" data-testid="new-key" onFocus={(e) => e.currentTarget.select()} />
            </div>
            <p>
              Clients send it as: <code>{(USAGE[created.info.kind] ?? ((k: string) => k))(created.key, created.info.user)}</code>
            </p>
            <div class="dialog-actions">
              <button type="button" onClick={() => navigator.clipboard?.writeText(created.key)}>
                Copy
              </button>
              <button type="button" class="primary" onClick={() => setCreated(undefined)}>
                Done
              </button>
            </div>
          </>
        )}
      </Dialog>
      <ConfirmDialog
        open={revoking !== undefined}
        title={`Revoke key ${revoking?.prefix ?? ''}…`}
        message={<p>Clients using this {revoking?.kind} key are refused from now on. This cannot be undone.</p>}
        action="Revoke key"
        onConfirm={async () => {
          await api('POST', `keys/${revoking!.id}/revoke`);
          keys.reload();
        }}
        onClose={() => setRevoking(undefined)}
      />
    </>
  );
}

function CreateKeyDialog(props: { open: boolean; kinds: Record<string, KindRules>; onClose: () => void; onCreated: (r: { key: string; info: KeyInfo }) => void }) {
  const kindNames = Object.keys(props.kinds);
  const [kind, setKind] = useState(kindNames[0] ?? 'recognition');
  const [name, setName] = useState('');
  const [user, setUser] = useState('');
  const [scopes, setScopes] = useState<string[]>([]);
  const [chosen, setChosen] = useState<string[]>([]);
  const [newCollection, setNewCollection] = useState('');
  const [error, setError] = useState<string>();
  const collections = useLoad(() => (props.open ? get<{ collections: Collection[] }>('collections') : Promise.resolve({ collections: [] })), [props.open]);
  const rules = props.kinds[kind];
  useEffect(() => setScopes([...(rules?.defaultScopes ?? [])]), [kind]);
  useEffect(() => {
    setError(undefined);
    setName('');
    setUser('');
    setChosen([]);
    setNewCollection('');
  }, [props.open]);
  const toggle = (list: string[], v: string) => (list.includes(v) ? list.filter((x) => x !== v) : [...list, v]);
  const submit = async (e: Event) => {
    e.preventDefault();
    const names = [...chosen, ...newCollection.split(',').map((s) => s.trim()).filter(Boolean)];
    try {
      props.onCreated(
        await api<{ key: string; info: KeyInfo }>('POST', 'keys', {
          kind,
          scopes,
          ...(rules.collections !== 'none' && names.length ? { collections: names } : {}),
          ...(name.trim() ? { name: name.trim() } : {}),
          ...(rules.login && user.trim() ? { user: user.trim() } : {}),
        }),
      );
    } catch (err) {
      setError(errorText(err));
    }
  };
  return (
    <Dialog title="New key" open={props.open} onClose={props.onClose}>
      <form onSubmit={submit}>
        <div class="field">
          <label for="keys-kind-which-api-it-opens">Kind (which API it opens)</label>
          <select id="keys-kind-which-api-it-opens" name="kind" value={kind} onChange={(e) => setKind(e.currentTarget.value)}>
            {kindNames.map((k) => (
              <option key={k} value={k}>
                {k}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="keys-name-for-the-list">Name (for the list)</label>
          <input id="keys-name-for-the-list" name="key-name" value={name} onInput={(e) => setName(e.currentTarget.value)} />
        </div>
        {rules?.login && (
          <div class="field">
            <label for="keys-user-name-client-id-generated-">User name / client id (generated when empty)</label>
            <input id="keys-user-name-client-id-generated-" name="key-user" value={user} onInput={(e) => setUser(e.currentTarget.value)} />
          </div>
        )}
        <fieldset class="checks">
          <legend>Scopes</legend>
          {SCOPES.map((s) => (
            <label key={s}>
              <input type="checkbox" checked={scopes.includes(s)} onChange={() => setScopes(toggle(scopes, s))} /> {s}
            </label>
          ))}
        </fieldset>
        {rules && rules.collections !== 'none' && (
          <fieldset class="checks">
            <legend>Collections it may see (the first is its default){rules.collections === 'owns' ? '; none: a new one' : ''}</legend>
            {collections.data?.collections.map((c) => (
              <label key={c.id}>
                <input type="checkbox" checked={chosen.includes(c.name)} onChange={() => setChosen(toggle(chosen, c.name))} /> {c.name}
              </label>
            ))}
            <div class="field">
              <label for="keys-new-collections-comma-separate">New collections (comma-separated)</label>
              <input id="keys-new-collections-comma-separate" name="key-new-collections" value={newCollection} onInput={(e) => setNewCollection(e.currentTarget.value)} />
            </div>
          </fieldset>
        )}
        {error && <Alert>{error}</Alert>}
        <div class="dialog-actions">
          <button type="button" onClick={props.onClose}>
            Cancel
          </button>
          <button type="submit" class="primary">
            Create key
          </button>
        </div>
      </form>
    </Dialog>
  );
}
