/**
 * The ECR operations Wharf serves, by wire name. Each handler takes the input validated against
 * ECR's model and answers the output shape; repository and image rules live in the domain, and
 * the registry's tokens in `registry/`.
 */
import type { AuthorizationData } from '@aws-sdk/client-ecr';
import * as domain from '../../domain/index.js';
import type { DomainContext, Wire } from '../../domain/index.js';
import { InvalidParameterException } from '../../model/index.js';
import type { RegistryTokens } from '../../registry/index.js';
import type { OperationHandler } from '../protocol/index.js';

export interface EcrHandlerOptions {
  ctx: DomainContext;
  tokens: RegistryTokens;
  /** The `host:port` docker reaches the registry at (known once the server listens). */
  registryAddress: () => string;
}

// Inputs arrive validated against the ECR model, so each handler may take the SDK input shape.
export function ecrHandlers({ ctx, tokens, registryAddress }: EcrHandlerOptions): Record<string, OperationHandler> {
  const registryId = ctx.scope.accountId;
  const present = (r: domain.RepositoryRecord) => domain.presentRepository(r, registryAddress());
  /** Wharf is one registry: naming another account's is a parameter error, not a lookup. */
  const own = <T extends { registryId?: string }>(input: T): T => {
    if (input.registryId !== undefined && input.registryId !== registryId) {
      throw new InvalidParameterException(`Invalid parameter at 'registryId' failed to satisfy constraint: 'this registry's id is ${registryId}'`);
    }
    return input;
  };

  return {
    CreateRepository: async (input) => ({ repository: present(await domain.createRepository(ctx, own(input))) }),
    DescribeRepositories: async (input) => {
      const { repositories, nextToken } = await domain.describeRepositories(ctx, own(input));
      return { repositories: repositories.map(present), nextToken };
    },
    DeleteRepository: async (input) => ({ repository: present(await domain.deleteRepository(ctx, own(input))) }),
    PutImageTagMutability: async (input) => {
      const r = await domain.putImageTagMutability(ctx, own(input));
      return { registryId, repositoryName: r.repositoryName, imageTagMutability: r.imageTagMutability };
    },

    ListImages: (input) => domain.listImages(ctx, own(input)),
    DescribeImages: (input) => domain.describeImages(ctx, own(input)),
    BatchGetImage: (input) => domain.batchGetImage(ctx, own(input)),
    BatchDeleteImage: (input) => domain.batchDeleteImage(ctx, own(input)),
    PutImage: async (input) => {
      own(input);
      const manifest = Buffer.from(input.imageManifest as string, 'utf8');
      const parsed = domain.parseManifest(manifest, input.imageManifestMediaType);
      if (!parsed.ok) throw new InvalidParameterException(`Invalid parameter at 'imageManifest' failed to satisfy constraint: '${parsed.reason}'`);
      const image = await domain.putImage(ctx, {
        repositoryName: input.repositoryName, manifest, parsed: parsed.manifest, refuseNoChange: true,
        ...(input.imageTag !== undefined ? { tag: input.imageTag } : {}),
        ...(input.imageDigest !== undefined ? { digest: input.imageDigest } : {}),
      });
      return {
        image: {
          registryId, repositoryName: image.repositoryName,
          imageId: { imageDigest: image.imageDigest, ...(input.imageTag !== undefined ? { imageTag: input.imageTag } : {}) },
          imageManifest: image.imageManifest, imageManifestMediaType: image.imageManifestMediaType,
        },
      };
    },

    PutLifecyclePolicy: async (input) => {
      const r = await domain.putLifecyclePolicy(ctx, own(input));
      return { registryId, repositoryName: r.repositoryName, lifecyclePolicyText: r.lifecyclePolicyText };
    },
    GetLifecyclePolicy: async (input) => {
      const r = await domain.getLifecyclePolicy(ctx, own(input));
      return {
        registryId, repositoryName: r.repositoryName, lifecyclePolicyText: r.lifecyclePolicyText,
        ...(r.lifecyclePolicyEvaluatedAt !== undefined ? { lastEvaluatedAt: r.lifecyclePolicyEvaluatedAt } : {}),
      };
    },
    DeleteLifecyclePolicy: async (input) => {
      const r = await domain.deleteLifecyclePolicy(ctx, own(input));
      return {
        registryId, repositoryName: r.repositoryName, lifecyclePolicyText: r.lifecyclePolicyText,
        ...(r.lifecyclePolicyEvaluatedAt !== undefined ? { lastEvaluatedAt: r.lifecyclePolicyEvaluatedAt } : {}),
      };
    },

    GetAuthorizationToken: async (input: { registryIds?: string[] }, request) => {
      for (const id of input.registryIds ?? []) own({ registryId: id });
      const { password, expiresAtMs } = tokens.issue(request.accessKeyId);
      const data: Wire<AuthorizationData> = {
        authorizationToken: Buffer.from(`AWS:${password}`).toString('base64'),
        expiresAt: expiresAtMs / 1000,
        proxyEndpoint: `http://${registryAddress()}`,
      };
      return { authorizationData: [data] };
    },

    TagResource: async (input) => { await domain.tagRepository(ctx, input); return {}; },
    UntagResource: async (input) => { await domain.untagRepository(ctx, input); return {}; },
    ListTagsForResource: async (input) => ({ tags: await domain.listRepositoryTags(ctx, input) }),
  };
}
