// CompreFace's subjects and examples over the platform's persons and faces. A recognition key's collection is
// also the namespace of its subjects: names are unique there and matched ignoring case (an exact match wins);
// renaming a subject to an existing name merges the two; an example is a face in the key's collection. Persons
// enrolled into the collection through another dialect (outside its namespace) are subjects too: listed,
// recognized, renamed and deleted by name, a delete taking only their faces in this collection.
import { DomainError } from '../../domain/errors';
import { checkPersonName, type Person } from '../../domain/persons';
import type { Face } from '../../domain/faces';
import type { DomainServices } from '../../domain/services';

export interface Example {
  /** The face's UUID (CompreFace image_id). */
  id: string;
  subject: string;
}

export interface ExamplePage {
  items: Example[];
  page: number;
  size: number;
  total: number;
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const example = (f: Face): Example => ({ id: f.uuid, subject: f.personName ?? '' });
const subjectNotFound = (name: string) => new DomainError('PERSON_NOT_FOUND', `subject ${name} not found`, { person: name });

export class Subjects {
  constructor(private readonly s: DomainServices) {}

  async create(collectionId: number, name: string): Promise<string> {
    checkPersonName(name, 'subject');
    if (await this.s.persons.findByName(collectionId, name, { ignoreCase: true })) {
      throw new DomainError('PERSON_EXISTS', `subject ${name} already exists`, { person: name });
    }
    return (await this.s.persons.create({ ownerCollectionId: collectionId, name })).name;
  }

  /** Renames `from` to `to`; when `to` already exists the two are merged into it. */
  async rename(collectionId: number, from: string, to: string): Promise<void> {
    checkPersonName(to, 'subject');
    const source = await this.find(collectionId, from);
    const target = await this.s.persons.findByName(collectionId, to, { ignoreCase: true });
    if (target && target.id !== source.id) await this.s.persons.merge(source.id, target.id);
    else await this.s.persons.update(source.id, { name: to });
  }

  /** Deletes the subject and its examples; returns the stored name. */
  async delete(collectionId: number, name: string): Promise<string> {
    const subject = await this.find(collectionId, name);
    await this.remove(collectionId, subject);
    return subject.name;
  }

  /** Deletes every subject of the collection (and their examples); returns how many. */
  async deleteAll(collectionId: number): Promise<number> {
    const n = await this.s.persons.deleteNamespace(collectionId);
    const others = await this.s.persons.list([collectionId]);
    for (const person of others) await this.remove(collectionId, person);
    return n + others.length;
  }

  /** Subject names in creation order (a name shared by persons of other dialects once). */
  async list(collectionId: number): Promise<string[]> {
    return [...new Set((await this.s.persons.list([collectionId], {}, undefined, 'created')).map((p) => p.name))];
  }

  /** Enrols the photo's face as an example of the subject (created if absent). */
  async enrol(collectionId: number, subject: string, image: Buffer, minScore?: number): Promise<Example> {
    checkPersonName(subject, 'subject');
    const existing = await this.s.persons.findByName(collectionId, subject, { ignoreCase: true });
    const { faces } = await this.s.faces.enrol(image, {
      collectionIds: [collectionId],
      owner: existing ? { personId: existing.id } : { namedIn: { namespaceId: collectionId, name: subject } },
      minScore,
    });
    return example(faces[0].face);
  }

  async examples(collectionId: number, opts: { subject?: string; page: number; size: number }): Promise<ExamplePage> {
    let personId: number | undefined;
    if (opts.subject !== undefined && opts.subject !== '') {
      const subject = await this.s.persons.findByName(collectionId, opts.subject, { ignoreCase: true });
      if (!subject) return { items: [], page: opts.page, size: opts.size, total: 0 };
      personId = subject.id;
    }
    const filter = personId !== undefined ? { personId } : {};
    const [faces, total] = await Promise.all([
      this.s.faces.list([collectionId], filter, { page: opts.page, size: opts.size }),
      this.s.faces.count([collectionId], filter),
    ]);
    return { items: faces.map(example), page: opts.page, size: opts.size, total };
  }

  /** Deletes the examples of one subject (and the subject), or every subject's when none is given; returns how many. */
  async deleteExamplesOf(collectionId: number, subjectName?: string): Promise<number> {
    if (subjectName === undefined || subjectName === '') {
      const n = await this.s.faces.count([collectionId]);
      await this.s.persons.deleteNamespace(collectionId);
      await this.s.faces.deleteWhere([collectionId], {}); // examples of persons outside the namespace too
      return n;
    }
    const subject = await this.s.persons.findByName(collectionId, subjectName, { ignoreCase: true });
    if (!subject) return 0;
    const n = await this.s.faces.count([collectionId], { personId: subject.id });
    await this.s.persons.delete(subject.id);
    return n;
  }

  async deleteExample(collectionId: number, imageId: string): Promise<Example> {
    const [deleted] = await this.deleteExamples(collectionId, [imageId]);
    if (!deleted) throw new DomainError('FACE_NOT_FOUND', `image ${imageId} not found`, { face: imageId });
    return deleted;
  }

  /** Deletes the examples that exist among the ids, in the given order; unknown ids are ignored. */
  async deleteExamples(collectionId: number, imageIds: string[]): Promise<Example[]> {
    const uuids = imageIds.filter((id) => UUID_RE.test(id));
    if (!uuids.length) return [];
    const found = await this.s.faces.list([collectionId], { uuids });
    const byUuid = new Map(found.map((f) => [f.uuid, f]));
    const ordered = [...new Set(uuids.map((u) => u.toLowerCase()))].map((u) => byUuid.get(u)).filter((f): f is Face => f !== undefined);
    const deleted = await this.s.faces.delete(ordered.map((f) => f.id), [collectionId]);
    return deleted.map(example);
  }

  /** The example's face, FACE_NOT_FOUND for an unknown or malformed id. */
  async example(collectionId: number, imageId: string): Promise<Face> {
    if (!UUID_RE.test(imageId)) throw new DomainError('FACE_NOT_FOUND', `image ${imageId} not found`, { face: imageId });
    return this.s.faces.getByUuid(imageId, [collectionId]);
  }

  /** The namespace's subject of this name, else a person of that exact name with a face in the collection. */
  private async find(collectionId: number, name: string): Promise<Person> {
    const subject =
      (await this.s.persons.findByName(collectionId, name, { ignoreCase: true })) ?? (await this.s.persons.list([collectionId], { name }, { page: 0, size: 1 }, 'created'))[0];
    if (!subject) throw subjectNotFound(name);
    return subject;
  }

  /** A subject of the namespace goes with its faces; another person loses its faces here, and goes once faceless. */
  private async remove(collectionId: number, person: Person): Promise<void> {
    if (person.ownerCollectionId === collectionId) return this.s.persons.delete(person.id);
    await this.s.faces.removeFromCollection(collectionId, await this.s.faces.list([collectionId], { personId: person.id }));
    await this.s.persons.deleteIfFaceless(person.id);
  }
}
