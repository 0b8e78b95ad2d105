// One person: faces (thumbnails), details and attributes, recognition history; rename and edit, merge, delete,
// more photos.
import { Fragment } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, get, type Collection, type EventRow, type Face, type Person } from '../api';
import { Enrolment } from '../components/enrol';
import { EventList } from '../components/events';
import { PersonPicker } from '../components/person-picker';
import { Alert, ConfirmDialog, Dialog, errorText, faceThumb, fmtDate, fmtInt, fmtTime, href, navigate, PageHeader, Thumb, useLoad } from '../ui';

interface PersonDetail {
  person: Person;
  faces: Face[];
  events: EventRow[];
}

export function PersonPage(props: { id: number }) {
  const detail = useLoad(() => get<PersonDetail>(`persons/${props.id}`), [props.id]);
  const collections = useLoad(() => get<{ collections: Collection[] }>('collections'), []);
  const [editing, setEditing] = useState(false);
  const [merging, setMerging] = useState(false);
  const [deleting, setDeleting] = useState(false);
  const [removingFace, setRemovingFace] = useState<Face>();
  if (detail.error) return <Alert>{detail.error}</Alert>;
  if (!detail.data) return <p aria-busy="true">Loading…</p>;
  const { person, faces, events } = detail.data;
  const names = new Map(collections.data?.collections.map((c) => [c.id, c.name]));
  const fullName = [person.name, person.patronymic, person.surname].filter(Boolean).join(' ');
  const attributes = Object.entries(person.attributes ?? {});
  return (
    <>
      <p class="breadcrumb">
        <a href={href('persons')}>Persons</a> /
      </p>
      <PageHeader title={fullName}>
        <button type="button" onClick={() => setEditing(true)}>
          Rename or edit
        </button>
        <button type="button" onClick={() => setMerging(true)}>
          Merge into another person
        </button>
        <button type="button" class="danger" onClick={() => setDeleting(true)}>
          Delete person
        </button>
      </PageHeader>
      <div class="person-top">
        <Thumb src={faceThumb(faces[0]?.id)} alt={`Face of ${person.name}`} size="large" />
        <dl class="details">
          <dt>Namespace</dt>
          <dd>{person.ownerCollectionId ? (names.get(person.ownerCollectionId) ?? `#${person.ownerCollectionId}`) : 'none (the name need not be unique)'}</dd>
          <dt>Faces</dt>
          <dd>{fmtInt(faces.length)}</dd>
          <dt>Recognised</dt>
          <dd>
            {fmtInt(person.recognitionCount)} times{person.lastRecognizedAt ? `, last ${fmtTime(person.lastRecognizedAt)}` : ''} ·{' '}
            <a href={href('history', { person: person.id })}>full history</a>
          </dd>
          {person.department && (
            <>
              <dt>Department</dt>
              <dd>{person.department}</dd>
            </>
          )}
          {person.comment && (
            <>
              <dt>Comment</dt>
              <dd>{person.comment}</dd>
            </>
          )}
          {attributes.map(([k, v]) => (
            <Fragment key={k}>
              <dt>{k}</dt>
              <dd>{typeof v === 'string' ? v : JSON.stringify(v)}</dd>
            </Fragment>
          ))}
          <dt>Created</dt>
          <dd>{fmtTime(person.createdAt)}</dd>
          <dt>Id</dt>
          <dd>
            {person.id} · <code>{person.uuid}</code>
          </dd>
        </dl>
      </div>

      <section aria-labelledby="faces-title">
        <h2 id="faces-title">Faces</h2>
        {!faces.length && <p class="empty">No face: add photos below.</p>}
        <ul class="face-grid">
          {faces.map((f) => (
            <li key={f.id} class="face-card">
              <Thumb src={faceThumb(f.id)} alt={`Face ${f.id} of ${person.name}`} size="large" />
              <span class="muted">{f.collectionIds.map((id) => names.get(id) ?? `#${id}`).join(', ')}</span>
              <span class="muted">
                {f.estimated?.age ? `~${Math.round(f.estimated.age.years)} y` : ''}
                {f.estimated?.gender ? ` · ${f.estimated.gender.value}` : ''}
                {f.quality !== null ? ` · quality ${f.quality.toFixed(2)}` : ''}
              </span>
              <span class="muted">{fmtDate(f.createdAt)}</span>
              <button type="button" class="link danger" onClick={() => setRemovingFace(f)} aria-label={`Remove face ${f.id}`}>
                Remove
              </button>
            </li>
          ))}
        </ul>
      </section>

      {collections.data && (
        <Enrolment
          collections={collections.data.collections}
          person={{ id: person.id, name: person.name, collectionId: person.ownerCollectionId ?? faces[0]?.collectionIds[0] ?? null }}
          onEnrolled={detail.reload}
        />
      )}

      <section aria-labelledby="history-title">
        <h2 id="history-title">Recognition history</h2>
        {events.length ? <EventList events={events} showPerson={false} /> : <p class="empty">Never recognised yet.</p>}
        {events.length >= 50 && <a href={href('history', { person: person.id })}>Older events</a>}
      </section>

      <EditDialog open={editing} person={person} onClose={() => setEditing(false)} onDone={detail.reload} />
      <MergeDialog open={merging} person={person} faces={faces.length} onClose={() => setMerging(false)} />
      <ConfirmDialog
        open={deleting}
        title={`Delete ${person.name}`}
        message={<p>The person and all {faces.length} faces go (with their photos). Recognition events stay, without the name. This cannot be undone.</p>}
        action="Delete person"
        confirmText={person.name}
        onConfirm={async () => {
          await api('DELETE', `persons/${person.id}`);
          navigate('persons');
        }}
        onClose={() => setDeleting(false)}
      />
      <ConfirmDialog
        open={removingFace !== undefined}
        title="Remove this face"
        message={<p>This face and its photo are removed; {person.name} keeps the other faces.</p>}
        action="Remove face"
        onConfirm={async () => {
          await api('DELETE', `faces/${removingFace!.id}`);
          detail.reload();
        }}
        onClose={() => setRemovingFace(undefined)}
      />
    </>
  );
}

function EditDialog(props: { open: boolean; person: Person; onClose: () => void; onDone: () => void }) {
  const [fields, setFields] = useState({ name: '', surname: '', department: '', comment: '' });
  const [error, setError] = useState<string>();
  useEffect(() => {
    const p = props.person;
    setFields({ name: p.name, surname: p.surname ?? '', department: p.department ?? '', comment: p.comment ?? '' });
    setError(undefined);
  }, [props.open]);
  const set = (k: keyof typeof fields) => (e: Event) => setFields({ ...fields, [k]: (e.currentTarget as HTMLInputElement).value });
  const submit = async (e: Event) => {
    e.preventDefault();
    try {
      await api('PATCH', `persons/${props.person.id}`, { ...fields, name: fields.name.trim() });
      props.onDone();
      props.onClose();
    } catch (err) {
      setError(errorText(err));
    }
  };
  return (
    <Dialog title={`Edit ${props.person.name}`} open={props.open} onClose={props.onClose}>
      <form onSubmit={submit}>
        <div class="field">
          <label for="person-name">Name</label>
          <input id="person-name" name="name" required maxLength={255} value={fields.name} onInput={set('name')} autoFocus />
        </div>
        <div class="field">
          <label for="person-surname">Surname</label>
          <input id="person-surname" name="surname" value={fields.surname} onInput={set('surname')} />
        </div>
        <div class="field">
          <label for="person-department">Department</label>
          <input id="person-department" name="department" value={fields.department} onInput={set('department')} />
        </div>
        <div class="field">
          <label for="person-comment">Comment</label>
          <textarea id="person-comment" name="comment" rows={3} value={fields.comment} onInput={set('comment')} />
        </div>
        {error && <Alert>{error}</Alert>}
        <div class="dialog-actions">
          <button type="button" onClick={props.onClose}>
            Cancel
          </button>
          <button type="submit" class="primary">
            Save
          </button>
        </div>
      </form>
    </Dialog>
  );
}

function MergeDialog(props: { open: boolean; person: Person; faces: number; onClose: () => void }) {
  const [target, setTarget] = useState<{ id: number; name: string }>();
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    setTarget(undefined);
    setError(undefined);
  }, [props.open]);
  const merge = async () => {
    setBusy(true);
    try {
      await api('POST', `persons/${props.person.id}/merge`, { into: target!.id });
      props.onClose();
      navigate(`persons/${target!.id}`);
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <Dialog title={`Merge ${props.person.name} into another person`} open={props.open} onClose={props.onClose}>
      <p>
        The {props.faces} faces and the recognition history of {props.person.name} move to the person you choose, and {props.person.name} is deleted.
      </p>
      <PersonPicker id="merge-target" label="Merge into" exclude={props.person.id} onPick={(p) => setTarget(p)} />
      {target && (
        <p class="alert alert-info" role="status">
          {props.person.name} (#{props.person.id}) → {target.name} (#{target.id})
        </p>
      )}
      {error && <Alert>{error}</Alert>}
      <div class="dialog-actions">
        <button type="button" onClick={props.onClose}>
          Cancel
        </button>
        <button type="button" class="danger" disabled={!target || busy} onClick={merge}>
          Merge
        </button>
      </div>
    </Dialog>
  );
}
