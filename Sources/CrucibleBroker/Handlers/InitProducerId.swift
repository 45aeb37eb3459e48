import CrucibleProtocol

extension BrokerApis {
    func initProducerId(_ request: InitProducerIdRequest, _ context: RequestContext) throws -> Reply<InitProducerIdResponse> {
        var response = InitProducerIdResponse()
        response.producerId = -1
        response.producerEpoch = -1
        if request.producerId >= 0 && request.producerEpoch >= 0 {
            // KIP-360: an idempotent producer bumping its epoch after a fatal sequence error keeps its id.
            response.producerId = request.producerId
            response.producerEpoch = request.producerEpoch &+ 1 < 0 ? 0 : request.producerEpoch + 1
            return .now(response)
        }
        return .later(producerIds.allocate(on: context.eventLoop).map { id in
            response.producerId = id
            response.producerEpoch = 0
            return HandlerOutput(response: response)
        })
    }
}
