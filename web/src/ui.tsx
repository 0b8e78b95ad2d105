// Small building blocks shared by the pages: hash routing, loading state, formatting, thumbnails, dialogs,
// the photo drop zone, paging.
import type { ComponentChildren, CSSProperties } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError } from './api';

// ---- routing: #/persons/12?collection=3

export interface Route {
  path: string[];
  params: URLSearchParams;
}

function currentRoute(): Route {
  const hash = location.hash.replace(/^#\/?/, '');
  const [path, q] = hash.split('?');
  return { path: path.split('/').filter(Boolean).map(decodeURIComponent), params: new URLSearchParams(q ?? '') };
}

export function useRoute(): Route {
  const [route, setRoute] = useState(currentRoute);
  useEffect(() => {
    const onChange = () => setRoute(currentRoute());
    addEventListener('hashchange', onChange);
    return () => removeEventListener('hashchange', onChange);
  }, []);
  return route;
}

export function href(path: string, params: Record<string, string | number | undefined | null> = {}): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return `#/${path}${s ? `?${s}` : ''}`;
}

export function navigate(path: string, params: Record<string, string | number | undefined | null> = {}): void {
  location.hash = href(path, params);
}

// ---- data loading

export interface Loaded<T> {
  data: T | undefined;
  error: string | undefined;
  loading: boolean;
  reload: () => void;
}

/** Runs `load` when `deps` change; reload() runs it again. Stale answers (deps changed meanwhile) are dropped. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]): Loaded<T> {
  const [state, setState] = useState<{ data?: T; error?: string; loading: boolean }>({ loading: true });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    setState((s) => ({ ...s, loading: true }));
    load().then(
      (data) => live && setState({ data, loading: false }),
      (err: Error) => live && setState({ error: errorText(err), loading: false }),
    );
    return () => {
      live = false;
    };
  }, [...deps, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { data: state.data, error: state.error, loading: state.loading, reload };
}

export function errorText(err: unknown): string {
  if (err instanceof ApiError) return err.message;
  return (err as Error)?.message ?? String(err);
}

// ---- formatting

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
const dateOnly = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium' });

export const fmtTime = (iso: string | null | undefined) => (iso ? dateTime.format(new Date(iso)) : '—');
export const fmtDate = (iso: string | null | undefined) => (iso ? dateOnly.format(new Date(iso)) : '—');
export const fmtInt = (n: number | null | undefined) => (n === null || n === undefined ? '—' : n.toLocaleString());

export function fmtBytes(n: number | null | undefined): string {
  if (n === null || n === undefined || n < 0) return '—';
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n.toFixed(i ? 1 : 0)} ${units[i]}`;
}

/** A false-accept rate as an operator reads it: "1 in 12,000" (or "< 1 in 10^12"). */
export function fmtFar(far: number | null | undefined): string {
  if (far === null || far === undefined) return '—';
  if (far >= 0.5) return `${Math.round(far * 100)}%`;
  if (far <= 1e-12) return '< 1 in 10¹²';
  const oneIn = 1 / far;
  const rounded = oneIn >= 1000 ? Number(oneIn.toPrecision(2)) : Math.round(oneIn);
  return `1 in ${rounded.toLocaleString()}`;
}

export const fmtScore = (cosine: number | null | undefined) => (cosine === null || cosine === undefined ? '—' : cosine.toFixed(3));

// ---- pieces

export function Thumb(props: { src: string | null; alt: string; size?: 'small' | 'medium' | 'large' }) {
  const [failed, setFailed] = useState(false);
  useEffect(() => setFailed(false), [props.src]);
  const cls = `thumb thumb-${props.size ?? 'medium'}`;
  if (!props.src || failed) {
    return (
      <span class={`${cls} thumb-none`} role="img" aria-label={`${props.alt} (no picture)`}>
        ?
      </span>
    );
  }
  return <img class={cls} src={props.src} alt={props.alt} loading="lazy" onError={() => setFailed(true)} />;
}

export const faceThumb = (faceId: number | null | undefined) => (faceId ? `api/faces/${faceId}/thumbnail` : null);
export const eventThumb = (eventId: number) => `api/events/${eventId}/thumbnail`;

export function Alert(props: { kind?: 'error' | 'info' | 'success'; children: ComponentChildren }) {
  const kind = props.kind ?? 'error';
  return (
    <div class={`alert alert-${kind}`} role={kind === 'error' ? 'alert' : 'status'}>
      {props.children}
    </div>
  );
}

/** A modal dialog (the native <dialog>: focus stays inside, Escape closes it). */
export function Dialog(props: { title: string; open: boolean; onClose: () => void; children: ComponentChildren }) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (props.open && !d.open) d.showModal();
    if (!props.open && d.open) d.close();
  }, [props.open]);
  return (
    <dialog ref={ref} class="dialog" aria-label={props.title} onClose={props.onClose} onCancel={props.onClose}>
      {props.open && (
        <div class="dialog-body">
          <h2>{props.title}</h2>
          {props.children}
        </div>
      )}
    </dialog>
  );
}

/** Asks before something that cannot be undone; `confirmText` makes the operator type a word (a name) first. */
export function ConfirmDialog(props: {
  open: boolean;
  title: string;
  message: ComponentChildren;
  action: string;
  confirmText?: string;
  onConfirm: () => Promise<void>;
  onClose: () => void;
}) {
  const [typed, setTyped] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  useEffect(() => {
    setTyped('');
    setError(undefined);
  }, [props.open]);
  const ready = props.confirmText === undefined || typed === props.confirmText;
  const submit = async (e: Event) => {
    e.preventDefault();
    if (!ready) return;
    setBusy(true);
    try {
      await props.onConfirm();
      props.onClose();
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <Dialog title={props.title} open={props.open} onClose={props.onClose}>
      <form onSubmit={submit}>
        <div class="dialog-message">{props.message}</div>
        {props.confirmText !== undefined && (
          <div class="field">
            <label for="ui-type-to-confirm">
              Type <strong>{props.confirmText}</strong> to confirm
            </label>
            <input id="ui-type-to-confirm" value={typed} onInput={(e) => setTyped(e.currentTarget.value)} autoFocus autocomplete="off" />
          </div>
        )}
        {error && <Alert>{error}</Alert>}
        <div class="dialog-actions">
          <button type="button" onClick={props.onClose}>
            Cancel
          </button>
          <button type="submit" class="danger" disabled={!ready || busy}>
            {busy ? 'Working…' : props.action}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

/**
 * Where photos go: dropped on it, or chosen with its file input (which a keyboard reaches: the whole zone is
 * the input's label).
 */
export function DropZone(props: { label: string; multiple?: boolean; onFiles: (files: File[]) => void; hint?: string; id: string; compact?: boolean }) {
  const [over, setOver] = useState(false);
  const take = (list: FileList | null | undefined) => {
    const files = [...(list ?? [])].filter((f) => f.type.startsWith('image/') || /\.(jpe?g|png|bmp|gif|tiff?|webp)$/i.test(f.name));
    if (files.length) props.onFiles(props.multiple ? files : files.slice(0, 1));
  };
  const onDrop = (e: DragEvent) => {
    e.preventDefault();
    setOver(false);
    take(e.dataTransfer?.files);
  };
  return (
    <div
      class={`dropzone${over ? ' dropzone-over' : ''}${props.compact ? ' dropzone-compact' : ''}`}
      onDragOver={(e) => {
        e.preventDefault();
        setOver(true);
      }}
      onDragLeave={() => setOver(false)}
      onDrop={onDrop}
      data-testid={`drop-${props.id}`}
    >
      <label for={`file-${props.id}`}>
        <span class="dropzone-title">{props.label}</span>
        <span class="dropzone-hint">{props.hint ?? `Drop ${props.multiple ? 'photos' : 'a photo'} here, or press to choose ${props.multiple ? 'files' : 'a file'}`}</span>
      </label>
      <input
        id={`file-${props.id}`}
        class="visually-hidden-input"
        type="file"
        accept="image/*"
        multiple={props.multiple}
        onChange={(e) => {
          take(e.currentTarget.files);
          e.currentTarget.value = '';
        }}
      />
    </div>
  );
}

export function Pager(props: { page: number; size: number; total: number; onPage: (page: number) => void }) {
  const pages = Math.max(1, Math.ceil(props.total / props.size));
  return (
    <nav class="pager" aria-label="Pages">
      <button type="button" disabled={props.page <= 0} onClick={() => props.onPage(props.page - 1)}>
        ← Previous
      </button>
      <span aria-live="polite">
        Page {props.page + 1} of {pages} · {fmtInt(props.total)} in all
      </span>
      <button type="button" disabled={props.page + 1 >= pages} onClick={() => props.onPage(props.page + 1)}>
        Next →
      </button>
    </nav>
  );
}

export function PageHeader(props: { title: string; children?: ComponentChildren }) {
  useEffect(() => {
    document.title = `${props.title} · faceserver console`;
  }, [props.title]);
  return (
    <header class="page-header">
      <h1 tabIndex={-1} id="page-title">
        {props.title}
      </h1>
      {props.children && <div class="page-actions">{props.children}</div>}
    </header>
  );
}

/** A photo with its detected faces outlined and numbered (boxes in the photo's pixels). */
export function PhotoWithBoxes(props: { src: string; width: number; height: number; boxes: { box: { x: number; y: number; width: number; height: number }; label: string; tone?: string }[]; alt: string }) {
  return (
    <div class="photo-boxes">
      <img src={props.src} alt={props.alt} />
      {props.boxes.map((b, i) => {
        const style: CSSProperties = {
          left: `${(b.box.x / props.width) * 100}%`,
          top: `${(b.box.y / props.height) * 100}%`,
          width: `${(b.box.width / props.width) * 100}%`,
          height: `${(b.box.height / props.height) * 100}%`,
        };
        return (
          <span key={i} class={`face-box ${b.tone ?? ''}`} style={style} aria-hidden="true">
            <span class="face-box-label">{b.label}</span>
          </span>
        );
      })}
    </div>
  );
}

/** A face cut from a photo the browser holds (the search page's probes), as a data URL. */
export function useCrop(src: string | undefined, box: { x: number; y: number; width: number; height: number } | undefined, size = 96): string | undefined {
  const [url, setUrl] = useState<string>();
  useEffect(() => {
    if (!src || !box) return;
    const img = new Image();
    img.onload = () => {
      const side = Math.max(box.width, box.height) * 1.4;
      const canvas = document.createElement('canvas');
      canvas.width = canvas.height = size;
      const g = canvas.getContext('2d');
      if (!g) return;
      g.fillStyle = '#888';
      g.fillRect(0, 0, size, size);
      g.drawImage(img, box.x + box.width / 2 - side / 2, box.y + box.height / 2 - side / 2, side, side, 0, 0, size, size);
      setUrl(canvas.toDataURL('image/jpeg', 0.85));
    };
    img.src = src;
  }, [src, box?.x, box?.y, box?.width, box?.height]);
  return url;
}
