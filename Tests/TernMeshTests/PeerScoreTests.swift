import Testing
import TernMesh

@Suite struct PeerScoreTests {
    @Test func tokenBucketLimitsBurstAndRefills() {
        var bucket = TokenBucket(capacity: 3, refillPerSecond: 2, nowMillis: 0)
        #expect((0..<5).map { _ in bucket.take(nowMillis: 0) } == [true, true, true, false, false])
        #expect(bucket.take(nowMillis: 499) == false)
        #expect(bucket.take(nowMillis: 500))
        #expect(bucket.take(nowMillis: 10_000) && bucket.tokens == 2)
    }

    @Test func invalidTrafficGraylistsAPeerUntilItsScoreDecays() {
        var book = PeerScoreBook()
        let peer = testID(1), honest = testID(2)
        for _ in 0..<10 { book.penalise(peer, nowMillis: 0) }
        #expect(book.score(of: peer, nowMillis: 0) == -100)
        #expect(book.admit(peer, nowMillis: 0) == .graylisted)
        #expect(book.admit(honest, nowMillis: 0) == .admitted)
        // 0.99 per second: after ~70 s the score is back above the threshold.
        #expect(book.admit(peer, nowMillis: 70_000) == .admitted)
    }

    @Test func floodingPeerIsRateLimited() {
        var book = PeerScoreBook()
        let flooder = testID(3)
        let admitted = (0..<200).filter { _ in book.admit(flooder, nowMillis: 1_000) == .admitted }.count
        #expect(admitted == 50)
        #expect(book.admit(flooder, nowMillis: 1_050) == .admitted)  // one token back after 50 ms at 20/s
        #expect(book.admit(flooder, nowMillis: 1_050) == .rateLimited)
    }
}
