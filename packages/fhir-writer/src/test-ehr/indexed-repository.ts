/**
 * MemoryRepository with an index on identifier and meta.tag tokens. Medplum's in-memory search evaluates FHIRPath
 * over every stored resource (about 0.6 ms each), so conditional creates, which search on every write, would make
 * the test EHR slower with every Bundle it holds. Token searches of the form `identifier=system|value` or
 * `_tag=system|code` (the only kinds the writer's conditional creates and references use) are answered from the
 * index; every other search falls through to Medplum's.
 */
import { Operator, type SearchRequest, type WithId } from '@medplum/core';
import { MemoryRepository } from '@medplum/fhir-router';
import type { Bundle, Resource } from '@medplum/fhirtypes';

type Keyed = { identifier?: { system?: string; value?: string }[] | { system?: string; value?: string } };

function tokenKeys(resource: Resource): string[] {
  const keys: string[] = [];
  const ids = (resource as Keyed).identifier;
  for (const id of Array.isArray(ids) ? ids : ids ? [ids] : []) {
    if (id.value !== undefined) keys.push(`${resource.resourceType} identifier ${id.system ?? ''}|${id.value}`);
  }
  for (const tag of resource.meta?.tag ?? []) {
    if (tag.code !== undefined) keys.push(`${resource.resourceType} _tag ${tag.system ?? ''}|${tag.code}`);
  }
  return keys;
}

/** An in-memory FHIR repository whose identifier and tag searches take constant time. */
export class IndexedMemoryRepository extends MemoryRepository {
  private readonly index = new Map<string, Set<string>>();

  override async createResource<T extends Resource>(resource: T): Promise<WithId<T>> {
    const created = await super.createResource(resource);
    this.add(created);
    return created;
  }

  override async updateResource<T extends Resource>(
    resource: T,
    options?: Parameters<MemoryRepository['updateResource']>[1],
  ): Promise<WithId<T>> {
    if (resource.id) await this.forget(resource.resourceType, resource.id);
    const updated = await super.updateResource(resource, options);
    this.add(updated);
    return updated;
  }

  override async deleteResource(resourceType: string, id: string): Promise<void> {
    await this.forget(resourceType, id);
    await super.deleteResource(resourceType, id);
  }

  override clear(): void {
    this.index.clear();
    super.clear();
  }

  override async search<T extends Resource>(request: SearchRequest<T>): Promise<Bundle<WithId<T>>> {
    const filter = request.filters?.length === 1 ? request.filters[0] : undefined;
    const fast =
      filter &&
      (filter.code === 'identifier' || filter.code === '_tag') &&
      filter.operator === Operator.EQUALS &&
      filter.value.includes('|') &&
      !filter.value.includes(',') &&
      !request.sortRules?.length &&
      !request.offset &&
      !request.include?.length &&
      !request.revInclude?.length;
    if (!fast) return super.search(request);
    const ids = [...(this.index.get(`${request.resourceType} ${filter.code} ${filter.value}`) ?? [])];
    const found = await Promise.all(ids.map((id) => this.readResource<WithId<T>>(request.resourceType, id)));
    const page = request.count === undefined ? found : found.slice(0, request.count);
    return {
      resourceType: 'Bundle',
      type: 'searchset',
      ...(page.length > 0 ? { entry: page.map((resource) => ({ resource })) } : {}),
      total: found.length,
    };
  }

  private add(resource: WithId<Resource>): void {
    for (const key of tokenKeys(resource)) {
      const set = this.index.get(key) ?? new Set<string>();
      set.add(resource.id);
      this.index.set(key, set);
    }
  }

  private async forget(resourceType: string, id: string): Promise<void> {
    let old: Resource;
    try {
      old = await this.readResource(resourceType, id);
    } catch {
      return;
    }
    for (const key of tokenKeys(old)) this.index.get(key)?.delete(id);
  }
}
