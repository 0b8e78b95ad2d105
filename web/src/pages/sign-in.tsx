// Signing in: with the admin secret (DATA_DIR/admin-secret or ADMIN_SECRET), or an operator account made with
// `faceserver operators add`.
import { useState } from 'preact/hooks';
import { api, type SessionInfo } from '../api';
import { Alert, errorText } from '../ui';

export function SignIn(props: { notice?: string; onSignedIn: (s: SessionInfo) => void }) {
  const [mode, setMode] = useState<'operator' | 'secret'>('operator');
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [secret, setSecret] = useState('');
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const body = mode === 'secret' ? { secret } : { username, password };
      props.onSignedIn(await api<SessionInfo>('POST', 'session', body));
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="sign-in">
      <form onSubmit={submit} class="card sign-in-card" aria-labelledby="sign-in-title">
        <h1 id="sign-in-title">faceserver console</h1>
        {props.notice && <Alert kind="info">{props.notice}</Alert>}
        <fieldset class="segmented">
          <legend>Sign in with</legend>
          <label>
            <input type="radio" name="mode" checked={mode === 'operator'} onChange={() => setMode('operator')} /> an operator account
          </label>
          <label>
            <input type="radio" name="mode" checked={mode === 'secret'} onChange={() => setMode('secret')} /> the admin secret
          </label>
        </fieldset>
        {mode === 'operator' ? (
          <>
            <div class="field">
              <label for="sign-in-user-name">User name</label>
              <input id="sign-in-user-name" name="username" autocomplete="username" required value={username} onInput={(e) => setUsername(e.currentTarget.value)} />
            </div>
            <div class="field">
              <label for="sign-in-password">Password</label>
              <input id="sign-in-password" name="password" type="password" autocomplete="current-password" required value={password} onInput={(e) => setPassword(e.currentTarget.value)} />
            </div>
          </>
        ) : (
          <div class="field">
            <label for="sign-in-admin-secret">Admin secret</label>
            <input id="sign-in-admin-secret" name="secret" type="password" autocomplete="off" required value={secret} onInput={(e) => setSecret(e.currentTarget.value)} />
            <small>In DATA_DIR/admin-secret on the server, or the ADMIN_SECRET it was started with.</small>
          </div>
        )}
        {error && <Alert>{error}</Alert>}
        <button type="submit" class="primary" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}
