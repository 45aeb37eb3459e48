import CrucibleProtocol
@testable import CrucibleController

/// Images built the way the controller builds them: records applied at consecutive offsets.
extension MetadataImage {
    static func withUnfencedBrokers(_ ids: [Int32]) -> MetadataImage {
        var image = MetadataImage()
        for id in ids {
            let (records, _) = ControllerCommands.registerBroker(
                id: id, endpoints: [BrokerEndpointImage(name: "PLAINTEXT", host: "h", port: 9000 + id)],
                incarnation: .random(), image: image)
            var unfence = UnfenceBrokerRecord()
            unfence.id = id
            image.commit(records + [unfence])
        }
        return image
    }

    mutating func commit(_ records: [any KafkaMetadataRecord]) {
        var offset = appliedOffset + 1
        for record in records { apply(record, offset: offset); offset += 1 }
    }
}
