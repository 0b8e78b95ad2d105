// The console's shell: the sign-in gate, the navigation and the page for the current route (#/...).
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, setSession, whenSignedOut, type SessionInfo } from './api';
import { Alert, errorText, useRoute } from './ui';
import { CollectionsPage } from './pages/collections';
import { PersonsPage } from './pages/persons';
import { PersonPage } from './pages/person';
import { SearchPage } from './pages/search';
import { VerifyPage } from './pages/verify';
import { HistoryPage } from './pages/history';
import { KeysPage } from './pages/keys';
import { StatusPage } from './pages/status';
import { SignIn } from './pages/sign-in';

const NAV: { path: string; label: string }[] = [
  { path: 'collections', label: 'Collections' },
  { path: 'persons', label: 'Persons' },
  { path: 'search', label: 'Search by photo' },
  { path: 'verify', label: 'Compare two photos' },
  { path: 'history', label: 'History' },
  { path: 'keys', label: 'Keys and tokens' },
  { path: 'status', label: 'Status' },
];

function Page() {
  const route = useRoute();
  const [section, id] = route.path;
  // Move focus to the new page's title, so keyboard and screen-reader users land on it.
  useEffect(() => {
    document.getElementById('page-title')?.focus();
  }, [section, id]);
  switch (section ?? 'persons') {
    case 'collections':
      return <CollectionsPage />;
    case 'persons':
      return id ? <PersonPage id={Number(id)} /> : <PersonsPage params={route.params} />;
    case 'search':
      return <SearchPage />;
    case 'verify':
      return <VerifyPage />;
    case 'history':
      return <HistoryPage params={route.params} />;
    case 'keys':
      return <KeysPage />;
    case 'status':
      return <StatusPage />;
    default:
      return <Alert>No such page: {section}</Alert>;
  }
}

function Shell(props: { session: SessionInfo; onSignOut: () => void }) {
  const route = useRoute();
  const current = route.path[0] ?? 'persons';
  return (
    <div class="shell">
      <a class="skip-link" href="#main" onClick={(e) => { e.preventDefault(); document.getElementById('page-title')?.focus(); }}>
        Skip to content
      </a>
      <aside class="sidebar">
        <div class="brand">
          <img src="icon.svg" alt="" width="28" height="28" />
          <span>faceserver</span>
        </div>
        <nav aria-label="Console">
          <ul>
            {NAV.map((n) => (
              <li key={n.path}>
                <a href={`#/${n.path}`} aria-current={current === n.path ? 'page' : undefined}>
                  {n.label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <div class="whoami">
          <span>
            Signed in as <strong>{props.session.user}</strong>
          </span>
          <button type="button" onClick={props.onSignOut}>
            Sign out
          </button>
        </div>
      </aside>
      <main id="main">
        <Page />
      </main>
    </div>
  );
}

function App() {
  const [session, setState] = useState<SessionInfo | null | undefined>(undefined);
  const [notice, setNotice] = useState<string>();
  const signedIn = (s: SessionInfo | null) => {
    setSession(s);
    setState(s);
  };
  useEffect(() => {
    whenSignedOut((reason) => {
      setNotice(reason);
      signedIn(null);
    });
    api<SessionInfo>('GET', 'session').then(signedIn, () => signedIn(null));
  }, []);
  if (session === undefined) return <p class="boot">Loading the console…</p>;
  if (session === null) {
    return (
      <SignIn
        notice={notice}
        onSignedIn={(s) => {
          setNotice(undefined);
          signedIn(s);
        }}
      />
    );
  }
  const signOut = async () => {
    try {
      await api('DELETE', 'session');
    } catch (err) {
      console.warn(errorText(err));
    }
    setNotice('You are signed out.');
    signedIn(null);
  };
  return <Shell session={session} onSignOut={signOut} />;
}

render(<App />, document.getElementById('app')!);
