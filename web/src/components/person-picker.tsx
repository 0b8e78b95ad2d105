// Finding a person by name (merge target, history filter): a search box and the first matches as buttons.
import { useEffect, useState } from 'preact/hooks';
import { get, query, type PersonRow } from '../api';
import { faceThumb, Thumb } from '../ui';

export function PersonPicker(props: { label: string; exclude?: number; onPick: (p: PersonRow) => void; id: string }) {
  const [text, setText] = useState('');
  const [found, setFound] = useState<PersonRow[]>([]);
  useEffect(() => {
    if (!text.trim()) return setFound([]);
    let live = true;
    const t = setTimeout(() => {
      get<{ persons: PersonRow[] }>(`persons${query({ q: text.trim(), size: 8 })}`).then(
        (r) => live && setFound(r.persons.filter((p) => p.id !== props.exclude)),
        () => live && setFound([]),
      );
    }, 250);
    return () => {
      live = false;
      clearTimeout(t);
    };
  }, [text]);
  return (
    <div class="picker">
      <div class="field">
        <label for={props.id}>{props.label}</label>
        <input id={props.id} type="search" value={text} onInput={(e) => setText(e.currentTarget.value)} placeholder="Type a name" autocomplete="off" />
      </div>
      {found.length > 0 && (
        <ul class="picker-list" aria-label="Matching persons">
          {found.map((p) => (
            <li key={p.id}>
              <button type="button" onClick={() => props.onPick(p)}>
                <Thumb src={faceThumb(p.thumbnailFaceId)} alt="" size="small" />
                <span>
                  {p.name} <span class="muted">#{p.id} · {p.faces} faces</span>
                </span>
              </button>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
