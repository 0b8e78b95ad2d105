// Persons: a searchable, paged list with a thumbnail each, filtered by collection; enrolment of new photos.
import { useEffect, useState } from 'preact/hooks';
import { get, query, type Collection, type PersonRow } from '../api';
import { Enrolment } from '../components/enrol';
import { Alert, faceThumb, fmtInt, fmtTime, href, navigate, PageHeader, Pager, Thumb, useLoad } from '../ui';

const PAGE_SIZE = 24;

export function PersonsPage(props: { params: URLSearchParams }) {
  const collection = props.params.get('collection') ?? '';
  const search = props.params.get('q') ?? '';
  const page = Number(props.params.get('page') ?? 0) || 0;
  const [typed, setTyped] = useState(search);
  const [enrolling, setEnrolling] = useState(props.params.get('enrol') === '1');
  const collections = useLoad(() => get<{ collections: Collection[] }>('collections'), []);
  const persons = useLoad(
    () => get<{ persons: PersonRow[]; total: number }>(`persons${query({ collection, q: search, page, size: PAGE_SIZE })}`),
    [collection, search, page],
  );
  const go = (change: Record<string, string | number | undefined>) => navigate('persons', { collection, q: search, page, ...change });
  // Search as the operator types (a short pause first).
  useEffect(() => {
    if (typed === search) return;
    const t = setTimeout(() => go({ q: typed, page: 0 }), 300);
    return () => clearTimeout(t);
  }, [typed]);
  const names = new Map(collections.data?.collections.map((c) => [c.id, c.name]));
  return (
    <>
      <PageHeader title="Persons">
        <button type="button" class="primary" aria-expanded={enrolling} onClick={() => setEnrolling(!enrolling)}>
          {enrolling ? 'Hide enrolment' : 'Enrol photos'}
        </button>
      </PageHeader>
      {enrolling && collections.data && (
        <Enrolment collections={collections.data.collections} defaultCollectionId={collection ? Number(collection) : undefined} onEnrolled={persons.reload} />
      )}
      <div class="filters card" role="search">
        <div class="field">
          <label for="persons-search-by-name">Search by name</label>
          <input id="persons-search-by-name" type="search" name="q" value={typed} onInput={(e) => setTyped(e.currentTarget.value)} placeholder="Name or surname" />
        </div>
        <div class="field">
          <label for="persons-collection">Collection</label>
          <select id="persons-collection" name="collection" value={collection} onChange={(e) => go({ collection: e.currentTarget.value, page: 0 })}>
            <option value="">All collections</option>
            {collections.data?.collections.map((c) => (
              <option key={c.id} value={c.id}>
                {c.name}
              </option>
            ))}
          </select>
        </div>
      </div>
      {persons.error && <Alert>{persons.error}</Alert>}
      <ul class="person-grid" aria-label="Persons" aria-busy={persons.loading}>
        {persons.data?.persons.map((p) => (
          <li key={p.id} class="person-card">
            <a href={href(`persons/${p.id}`)} class="person-link">
              <Thumb src={faceThumb(p.thumbnailFaceId)} alt={`Face of ${p.name}`} size="large" />
              <span class="person-name">
                {p.name}
                {p.surname ? ` ${p.surname}` : ''}
              </span>
            </a>
            <span class="muted">
              {fmtInt(p.faces)} face{p.faces === 1 ? '' : 's'} · {p.collectionIds.map((id) => names.get(id) ?? `#${id}`).join(', ') || 'no collection'}
            </span>
            <span class="muted">{p.recognitionCount ? `seen ${fmtInt(p.recognitionCount)}×, last ${fmtTime(p.lastRecognizedAt)}` : 'never recognised'}</span>
          </li>
        ))}
      </ul>
      {persons.data && !persons.data.persons.length && <p class="empty">{search ? `Nobody matches "${search}".` : 'No person yet: enrol photos.'}</p>}
      {persons.data && persons.data.total > PAGE_SIZE && <Pager page={page} size={PAGE_SIZE} total={persons.data.total} onPage={(p) => go({ page: p })} />}
    </>
  );
}
