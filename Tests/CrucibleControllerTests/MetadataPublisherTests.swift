import CrucibleController
import CrucibleProtocol
import Dispatch
import NIOConcurrencyHelpers
import XCTest

/// A broker subscribes to the metadata while commits keep arriving (a restarted node is unfenced exactly then).
/// Its partitions must see images in log order: a catch-up with an image of a moment ago that landed after a
/// newer commit once put a partition its node had just been made leader of back to leaderless.
final class MetadataPublisherTests: XCTestCase {
    func testASubscriberCatchingUpWhileCommitsArriveSeesEveryLaterImageOnceAndInOrder() {
        let commits = 60
        for round in 0..<300 {
            let publisher = MetadataPublisher()
            let seen = NIOLockedValueBox<[(offset: Int64, everything: Bool)]>([])
            let publishing = DispatchGroup()
            DispatchQueue.global().async(group: publishing) {
                for offset in 0..<commits {
                    var topic = TopicRecord()
                    topic.name = "t\(offset)"
                    topic.topicId = .random()
                    publisher.publish(.records(baseOffset: Int64(offset), [topic]))
                }
            }
            // Subscribing at a different point of the stream each round.
            for _ in 0..<(round % 30) * 50 { _ = publisher.currentImage.appliedOffset }
            publisher.subscribe(catchingUp: { image, changes in
                seen.withLockedValue { $0.append((image.appliedOffset, changes.everything)) }
            })
            publishing.wait()

            let calls = seen.withLockedValue { $0 }
            guard let first = calls.first else { return XCTFail("round \(round): the catch-up never came") }
            XCTAssertTrue(first.everything, "round \(round): the first call is the catch-up with the whole image")
            XCTAssertEqual(calls.dropFirst().map(\.offset), Array((first.offset + 1)..<Int64(commits)),
                           "round \(round): after the catch-up, each later commit once, in log order")
            XCTAssertFalse(calls.dropFirst().contains { $0.everything }, "round \(round)")
            XCTAssertEqual(publisher.currentImage.topicsByName.count, commits)
        }
    }
}
