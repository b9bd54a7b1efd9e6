// A histogram the master keeps for itself (dispatch waits, Redis forwards): a few fixed buckets,
// observed rarely, exported in the store's family shape.
import type { FamilyJSON, SampleJSON } from "./family.js";

export class SimpleHistogram {
  private readonly counts: Float64Array;
  private sum = 0;
  private count = 0;

  constructor(
    private readonly name: string,
    private readonly help: string,
    private readonly bounds: readonly number[],
  ) {
    this.counts = new Float64Array(bounds.length);
  }

  observe(value: number): void {
    for (let i = 0; i < this.bounds.length; i++) if (value <= this.bounds[i]!) this.counts[i]!++;
    this.sum += value;
    this.count++;
  }

  family(): FamilyJSON {
    const bucket = `${this.name}_bucket`;
    const values: SampleJSON[] = this.bounds.map((le, i) => ({
      metricName: bucket,
      labels: { le },
      value: this.counts[i]!,
    }));
    values.push(
      { metricName: bucket, labels: { le: "+Inf" }, value: this.count },
      { metricName: `${this.name}_sum`, labels: {}, value: this.sum },
      { metricName: `${this.name}_count`, labels: {}, value: this.count },
    );
    return { name: this.name, help: this.help, type: "histogram", values };
  }
}
