import CrucibleController
import CrucibleProtocol
import CrucibleSecurity
import NIOConcurrencyHelpers

/// The ACL check every API makes, with Kafka's StandardAuthorizer rules over the ACLs of the metadata image.
/// Without `authorizer.class.name` everything is allowed, as in Kafka.
extension BrokerApis {
    func allowed(_ context: RequestContext, _ operation: AclOperation, _ type: AclResourceType, _ name: String) -> Bool {
        guard context.authorize, let authorizer = currentAuthorizer() else { return true }
        return authorizer.authorize(context.principal, host: String(context.clientHost.drop { $0 == "/" }),
                                    operation, type, name)
    }

    func allowedOnCluster(_ context: RequestContext, _ operation: AclOperation) -> Bool {
        allowed(context, operation, .cluster, Authorizer.clusterName)
    }

    func allowedOnAnyTopic(_ context: RequestContext, _ operation: AclOperation) -> Bool {
        guard context.authorize, let authorizer = currentAuthorizer() else { return true }
        return authorizer.authorizeAny(context.principal, host: String(context.clientHost.drop { $0 == "/" }), operation, .topic)
    }

    /// Rebuilt only when the image's ACLs changed.
    func currentAuthorizer() -> Authorizer? {
        guard config.security.authorizerEnabled else { return nil }
        let acls = controller.currentImage.acls
        return authorizerCache.withLockedValue { cache in
            if let cached = cache, cached.acls == acls { return cached.authorizer }
            let authorizer = Authorizer(acls: acls.values.sorted { $0.hashValue < $1.hashValue },
                                        superUsers: config.security.superUsers,
                                        allowEveryoneIfNoAclFound: config.security.allowEveryoneIfNoAclFound)
            cache = (acls, authorizer)
            return authorizer
        }
    }
}

typealias AuthorizerCache = NIOLockedValueBox<(acls: [KafkaUUID: AclBinding], authorizer: Authorizer)?>
