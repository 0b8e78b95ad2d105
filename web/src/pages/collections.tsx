// Collections (a CompreFace key's collection, a FindFace gallery, a Face Intellect server): counts, create,
// rename, delete (typing the name to confirm).
import { useEffect, useState } from 'preact/hooks';
import { api, get, query, type Collection } from '../api';
import { Alert, ConfirmDialog, Dialog, errorText, fmtDate, fmtInt, href, PageHeader, useLoad } from '../ui';

export function CollectionsPage() {
  const list = useLoad(() => get<{ collections: Collection[] }>('collections'), []);
  const [name, setName] = useState('');
  const [error, setError] = useState<string>();
  const [renaming, setRenaming] = useState<Collection>();
  const [deleting, setDeleting] = useState<Collection>();
  const create = async (e: Event) => {
    e.preventDefault();
    setError(undefined);
    try {
      await api('POST', 'collections', { name: name.trim() });
      setName('');
      list.reload();
    } catch (err) {
      setError(errorText(err));
    }
  };
  return (
    <>
      <PageHeader title="Collections" />
      <form class="inline-form card" onSubmit={create}>
        <div class="field">
          <label for="collections-new-collection">New collection</label>
          <input id="collections-new-collection" name="collection-name" value={name} required maxLength={200} onInput={(e) => setName(e.currentTarget.value)} placeholder="e.g. lobby" />
        </div>
        <button type="submit" class="primary">
          Create collection
        </button>
        {error && <Alert>{error}</Alert>}
      </form>
      {list.error && <Alert>{list.error}</Alert>}
      <table class="table">
        <caption class="visually-hidden">Collections</caption>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col" class="num">Persons</th>
            <th scope="col" class="num">Faces</th>
            <th scope="col" class="num">In the matcher</th>
            <th scope="col">Created</th>
            <th scope="col">
              <span class="visually-hidden">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {list.data?.collections.map((c) => (
            <tr key={c.id}>
              <th scope="row">
                <a href={href('persons', { collection: c.id })}>{c.name}</a>
              </th>
              <td class="num">{fmtInt(c.persons)}</td>
              <td class="num">{fmtInt(c.faces)}</td>
              <td class="num">{c.inMemory ? fmtInt(c.matcherSize) : 'searched in SQL'}</td>
              <td>{fmtDate(c.createdAt)}</td>
              <td class="row-actions">
                <a href={href('history', { collection: c.id })}>History</a>
                <button type="button" onClick={() => setRenaming(c)} aria-label={`Rename ${c.name}`}>
                  Rename
                </button>
                <button type="button" class="danger" onClick={() => setDeleting(c)} aria-label={`Delete ${c.name}`}>
                  Delete
                </button>
              </td>
            </tr>
          ))}
          {list.data && !list.data.collections.length && (
            <tr>
              <td colSpan={6} class="empty">
                No collection yet: create one above.
              </td>
            </tr>
          )}
        </tbody>
      </table>
      <RenameDialog collection={renaming} onClose={() => setRenaming(undefined)} onDone={list.reload} />
      <ConfirmDialog
        open={deleting !== undefined}
        title={`Delete ${deleting?.name ?? ''}`}
        message={
          <p>
            The collection goes, with its {fmtInt(deleting?.persons)} persons' names kept in it and their faces ({fmtInt(deleting?.faces)} faces in all). Faces of
            other persons stay in their other collections. Keys that own it stop working. This cannot be undone.
          </p>
        }
        action="Delete collection"
        confirmText={deleting?.name}
        onConfirm={async () => {
          await api('DELETE', `collections/${deleting!.id}${query({ confirm: deleting!.name })}`);
          list.reload();
        }}
        onClose={() => setDeleting(undefined)}
      />
    </>
  );
}

function RenameDialog(props: { collection: Collection | undefined; onClose: () => void; onDone: () => void }) {
  const [name, setName] = useState('');
  const [error, setError] = useState<string>();
  const open = props.collection !== undefined;
  useEffect(() => {
    setName(props.collection?.name ?? '');
    setError(undefined);
  }, [props.collection]);
  const submit = async (e: Event) => {
    e.preventDefault();
    try {
      await api('PATCH', `collections/${props.collection!.id}`, { name: name.trim() });
      props.onDone();
      props.onClose();
    } catch (err) {
      setError(errorText(err));
    }
  };
  return (
    <Dialog title={`Rename ${props.collection?.name ?? ''}`} open={open} onClose={props.onClose}>
      <form onSubmit={submit} key={props.collection?.id}>
        <div class="field">
          <label for="collections-new-name">New name</label>
          <input id="collections-new-name" required maxLength={200} value={name} onInput={(e) => setName(e.currentTarget.value)} autoFocus />
        </div>
        {error && <Alert>{error}</Alert>}
        <div class="dialog-actions">
          <button type="button" onClick={props.onClose}>
            Cancel
          </button>
          <button type="submit" class="primary">
            Rename
          </button>
        </div>
      </form>
    </Dialog>
  );
}
