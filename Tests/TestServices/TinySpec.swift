/// A valid run of the reference engine's tiny model: what server tests and benchmarks apply when the spec's content
/// does not matter, only its sites and replicas.
public enum TinySpec {
    public static func text(name: String = "demo", sites: [String] = ["alpha", "beta"], replicas: Int = 1, faultPolicy: String = "") -> String {
        """
        apiVersion: intermesh/v1
        kind: TrainingRun
        metadata:
          name: \(name)
        spec:
          model: {kind: mlp, layers: 1, hiddenSize: 8, vocabSize: 256, sequenceLength: 8}
          data:
            mix:
              - {name: prose, path: data/prose.txt, weight: 1}
          sites:
        \(sites.map { "    - {name: \($0), replicas: \(replicas)}" }.joined(separator: "\n"))
        \(faultPolicy.isEmpty ? "" : "  faultPolicy: {\(faultPolicy)}\n")
        """
    }
}
