/**
 * Wharf's registry as the benchmarks use it, the way an ECR user would: a token from ECR
 * GetAuthorizationToken (signed with the server's admin credentials), the registry host from its
 * proxyEndpoint, and CreateRepository before each push (ECR refuses pushes to a repository that
 * does not exist).
 */
import { CreateRepositoryCommand, ECRClient, GetAuthorizationTokenCommand } from '@aws-sdk/client-ecr';
import type { WharfProcesses } from '../../src/testkit/wharf-processes.js';

export interface WharfRegistry {
  /** `<host>:<port>` from the token's proxyEndpoint, as it goes in a `docker://` reference. */
  host: string;
  /** `AWS:<token>`, for skopeo's `--src-creds` / `--dest-creds`. */
  credentials: string;
  createRepository(name: string): Promise<void>;
  close(): void;
}

export async function loginToWharfRegistry(wharf: WharfProcesses, region = 'us-east-1'): Promise<WharfRegistry> {
  const ecr = new ECRClient({ endpoint: wharf.url, region, credentials: wharf.credentials, maxAttempts: 1 });
  try {
    const answer = await ecr.send(new GetAuthorizationTokenCommand({})).catch((err: unknown) => {
      throw new Error(`ECR GetAuthorizationToken at ${wharf.url} failed: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`, { cause: err });
    });
    const data = answer.authorizationData?.[0];
    if (!data?.authorizationToken || !data.proxyEndpoint) {
      throw new Error(`GetAuthorizationToken answered no token or no proxyEndpoint: ${JSON.stringify(data)}`);
    }
    const credentials = Buffer.from(data.authorizationToken, 'base64').toString('utf8');
    if (!credentials.startsWith('AWS:')) throw new Error('the authorization token does not decode to AWS:<password>');
    return {
      host: new URL(data.proxyEndpoint).host,
      credentials,
      async createRepository(name) {
        await ecr.send(new CreateRepositoryCommand({ repositoryName: name }));
      },
      close: () => ecr.destroy(),
    };
  } catch (err) {
    ecr.destroy();
    throw err;
  }
}
