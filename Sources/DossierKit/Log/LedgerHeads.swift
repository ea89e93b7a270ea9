/// The newest entry of each dossier among a ledger's first entries, as a checkpoint commits
/// to them (docs/FORMAT.md §8.4): one leaf per dossier, `ID ‖ "\n" ‖ SEQUENCE ‖ "\n" ‖
/// HEX(ENTRY HASH)`, in the byte order of the ids, under an RFC 9162 Merkle tree. An export
/// proves its dossier's leaf, and so that it holds every entry the checkpoint covers: the
/// chain ending at that entry's hash fixes all of them.
struct LedgerHeads {
    /// One dossier's newest entry.
    struct Head: Equatable {
        let dossierID: String
        let sequence: Int
        /// SHA-256 of the entry's statement.
        let hash: [UInt8]
    }

    /// The heads, in the byte order of their ids.
    let heads: [Head]

    /// The heads among `rows` (the ledger's first entries, each as its dossier id, sequence
    /// and entry hash): for each dossier the entry with the highest sequence.
    init(_ rows: some Sequence<Head>) {
        // Keyed by bytes: String equality is canonical equivalence (ids are ASCII when valid,
        // but a ledger's rows are read as they are).
        var newest: [[UInt8]: Head] = [:]
        for row in rows {
            let key = Array(row.dossierID.utf8)
            if (newest[key]?.sequence ?? Int.min) < row.sequence { newest[key] = row }
        }
        heads = newest.values.sorted { $0.dossierID.utf8.lexicographicallyPrecedes($1.dossierID.utf8) }
    }

    /// The leaf bytes of a head.
    static func leaf(_ head: Head) -> [UInt8] {
        Array("\(head.dossierID)\n\(head.sequence)\n\(Hex.encode(head.hash))".utf8)
    }

    var leafHashes: [[UInt8]] { heads.map { MerkleTree.leafHash(Self.leaf($0)) } }

    /// The count and root a checkpoint signs.
    var commitment: (count: Int, root: [UInt8]) { (heads.count, MerkleTree.root(leafHashes[...])) }

    /// The position of a dossier's head and its inclusion proof, or nil when the dossier has
    /// no entry among these.
    func proof(for dossierID: String) -> (index: Int, head: Head, proof: [[UInt8]])? {
        guard let index = heads.firstIndex(where: { FileSystem.same($0.dossierID, dossierID) }) else { return nil }
        return (index, heads[index], MerkleTree.inclusionProof(index: index, leaves: leafHashes[...]))
    }
}
