// Enrolment of several photos at once: each is sent on its own (one after another, the server's engine being
// the bottleneck), with its upload progress and what became of it: enrolled, no face, several faces, low
// quality, or unreadable.
import { useEffect, useRef, useState } from 'preact/hooks';
import { upload, type Collection } from '../api';
import { DropZone, href } from '../ui';

type Status = 'waiting' | 'sending' | 'enrolled' | 'no_face' | 'several_faces' | 'low_quality' | 'unreadable' | 'failed';

const OUTCOME: Record<Status, string> = {
  waiting: 'Waiting',
  sending: 'Sending',
  enrolled: 'Enrolled',
  no_face: 'No face found',
  several_faces: 'Several faces: use a photo of one person',
  low_quality: 'Low quality',
  unreadable: 'Not a readable image',
  failed: 'Failed',
};

interface Item {
  key: number;
  file: File;
  preview: string;
  name: string;
  collectionId: number;
  status: Status;
  progress: number;
  message?: string;
  personId?: number;
}

/** The person's name a file name suggests: "Ada_Lovelace_0002.jpg" -> "Ada Lovelace". */
export function nameFromFile(fileName: string): string {
  return fileName
    .replace(/\.[^.]+$/, '')
    .replace(/[\s_-]*\d+$/, '')
    .replace(/[_]+/g, ' ')
    .trim();
}

export function Enrolment(props: {
  collections: Collection[];
  /** Enrol into this person (its page); otherwise a name (or each file's name) picks the person. */
  person?: { id: number; name: string; collectionId: number | null };
  defaultCollectionId?: number;
  onEnrolled: () => void;
}) {
  const [collectionId, setCollectionId] = useState<number | undefined>(props.person?.collectionId ?? props.defaultCollectionId ?? props.collections[0]?.id);
  const [naming, setNaming] = useState<'typed' | 'file'>('typed');
  const [name, setName] = useState('');
  const [items, setItems] = useState<Item[]>([]);
  const [problem, setProblem] = useState<string>();
  const nextKey = useRef(0);
  const running = useRef(false);
  const queue = useRef<Item[]>([]);

  useEffect(() => {
    if (collectionId === undefined && props.collections.length) setCollectionId(props.defaultCollectionId ?? props.collections[0].id);
  }, [props.collections]);
  useEffect(() => () => items.forEach((i) => URL.revokeObjectURL(i.preview)), []);

  const update = (key: number, change: Partial<Item>) => setItems((all) => all.map((i) => (i.key === key ? { ...i, ...change } : i)));

  const run = async () => {
    if (running.current) return;
    running.current = true;
    let enrolled = 0;
    while (queue.current.length) {
      const item = queue.current.shift()!;
      update(item.key, { status: 'sending', progress: 0 });
      const form = new FormData();
      form.append('collection', String(item.collectionId));
      if (props.person) form.append('person', String(props.person.id));
      else form.append('name', item.name);
      form.append('file', item.file, item.file.name);
      try {
        const r = await upload('enrol', form, (p) => update(item.key, { progress: p }));
        const body = r.body as { outcome?: Status; message?: string; person?: { id: number }; error?: { message?: string } };
        if (r.status === 201) {
          enrolled++;
          update(item.key, { status: 'enrolled', progress: 1, personId: body.person?.id });
        } else {
          update(item.key, { status: body.outcome ?? 'failed', progress: 1, message: body.message ?? body.error?.message });
        }
      } catch (err) {
        update(item.key, { status: 'failed', message: (err as Error).message });
      }
    }
    running.current = false;
    if (enrolled) props.onEnrolled();
  };

  const add = (files: File[]) => {
    setProblem(undefined);
    if (collectionId === undefined) return setProblem('Create a collection first.');
    if (!props.person && naming === 'typed' && !name.trim()) return setProblem("Type the person's name first.");
    const added = files.map((file) => ({
      key: nextKey.current++,
      file,
      preview: URL.createObjectURL(file),
      name: props.person ? props.person.name : naming === 'file' ? nameFromFile(file.name) || file.name : name.trim(),
      collectionId,
      status: 'waiting' as Status,
      progress: 0,
    }));
    setItems((all) => [...added, ...all]);
    queue.current.push(...added);
    void run();
  };

  const done = items.filter((i) => i.status !== 'waiting' && i.status !== 'sending').length;
  const ok = items.filter((i) => i.status === 'enrolled').length;
  return (
    <section class="card enrol" aria-labelledby="enrol-title">
      <h2 id="enrol-title">{props.person ? `Add photos of ${props.person.name}` : 'Enrol photos'}</h2>
      <div class="form-row">
        <div class="field">
          <label for="enrol-collection">Collection</label>
          <select id="enrol-collection" value={collectionId} onChange={(e) => setCollectionId(Number(e.currentTarget.value))} name="enrol-collection">
            {props.collections.map((c) => (
              <option key={c.id} value={c.id}>
                {c.name}
              </option>
            ))}
          </select>
        </div>
        {!props.person && (
          <>
            <fieldset class="segmented">
              <legend>Whose photos</legend>
              <label>
                <input type="radio" name="naming" checked={naming === 'typed'} onChange={() => setNaming('typed')} /> one person, named here
              </label>
              <label>
                <input type="radio" name="naming" checked={naming === 'file'} onChange={() => setNaming('file')} /> each photo's file name (Ada_Lovelace_2.jpg: Ada Lovelace)
              </label>
            </fieldset>
            {naming === 'typed' && (
              <div class="field">
                <label for="enrol-person-s-name">Person's name</label>
                <input id="enrol-person-s-name" name="enrol-name" value={name} maxLength={255} onInput={(e) => setName(e.currentTarget.value)} placeholder="e.g. Ada Lovelace" />
              </div>
            )}
          </>
        )}
      </div>
      {problem && (
        <p class="alert alert-error" role="alert">
          {problem}
        </p>
      )}
      <DropZone id="enrol" label="Photos to enrol" multiple onFiles={add} hint="Drop photos here (several at once), or press to choose files. One face per photo." />
      {items.length > 0 && (
        <>
          <p class="enrol-summary" aria-live="polite">
            {done} of {items.length} done · {ok} enrolled
          </p>
          <ul class="enrol-list" aria-label="Photos sent">
            {items.map((i) => (
              <li key={i.key} class={`enrol-item enrol-${i.status}`} data-outcome={i.status}>
                <img src={i.preview} alt="" class="thumb thumb-small" />
                <div class="enrol-file">
                  <span class="enrol-name">{i.file.name}</span>
                  {!props.person && <span class="muted">as {i.name}</span>}
                  {i.status === 'sending' && <progress max={1} value={i.progress} aria-label={`Sending ${i.file.name}`} />}
                </div>
                <div class="enrol-outcome">
                  <strong>{OUTCOME[i.status]}</strong>
                  {i.message && i.status !== 'enrolled' && <span class="muted">{i.message.replace(/^low quality: /, '')}</span>}
                  {i.status === 'enrolled' && i.personId && !props.person && <a href={href(`persons/${i.personId}`)}>Open {i.name}</a>}
                </div>
              </li>
            ))}
          </ul>
        </>
      )}
    </section>
  );
}
