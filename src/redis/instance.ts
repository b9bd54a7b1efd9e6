// How a host is named in Redis (and in the aggregator's `instance` label) unless --instance says otherwise.
import { hostname } from "node:os";

export const defaultInstance = (metricsPort: number): string => `${hostname()}:${metricsPort}`;
