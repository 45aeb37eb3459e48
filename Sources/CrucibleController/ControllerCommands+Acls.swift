import CrucibleProtocol
import CrucibleSecurity
import NIOCore

extension ControllerCommands {
    /// CreateAcls: each ACL checked as Kafka checks it; one already there is not added twice (and succeeds).
    static func createAcls(_ bindings: [AclBinding], image: MetadataImage)
        -> ([any KafkaMetadataRecord], [(error: ErrorCode, message: String?)]) {
        var existing = Set(image.acls.values)
        var records: [any KafkaMetadataRecord] = []
        let results = bindings.map { binding -> (error: ErrorCode, message: String?) in
            if let problem = binding.problem { return (.invalidRequest, problem) }
            if existing.insert(binding).inserted { records.append(AccessControlEntryRecord(id: .random(), binding)) }
            return (.none, nil)
        }
        return (records, results)
    }

    /// DeleteAcls: per filter, the ACLs it matches, each removed once even when several filters match it.
    static func deleteAcls(_ filters: [AclFilter], image: MetadataImage)
        -> ([any KafkaMetadataRecord], [[AclBinding]]) {
        var removed = Set<KafkaUUID>()
        var records: [any KafkaMetadataRecord] = []
        let results = filters.map { filter -> [AclBinding] in
            let matching = image.acls.filter { filter.matches($0.value) }.sorted { $0.key.description < $1.key.description }
            for (id, _) in matching where removed.insert(id).inserted {
                var removal = RemoveAccessControlEntryRecord()
                removal.id = id
                records.append(removal)
            }
            return matching.map(\.value)
        }
        return (records, results)
    }
}

extension QuorumController {
    public func createAcls(_ bindings: [AclBinding]) -> EventLoopFuture<[(error: ErrorCode, message: String?)]> {
        command("createAcls") { image in ControllerCommands.createAcls(bindings, image: image) }
    }

    public func deleteAcls(_ filters: [AclFilter]) -> EventLoopFuture<[[AclBinding]]> {
        command("deleteAcls") { image in ControllerCommands.deleteAcls(filters, image: image) }
    }
}
