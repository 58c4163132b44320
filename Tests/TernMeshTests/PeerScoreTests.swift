import Testing
import TernMesh

@Suite struct PeerScoreTests {
    @Test func tokenBucketLimitsBurstAndRefills() {
        var bucket = TokenBucket(capacity: 3, refillPerSecond: 2, nowMillis: 0)
        let burst = (0..<5).map { _ in bucket.take(nowMillis: 0) }
        #expect(burst == [true, true, true, false, false])
        let result1 = bucket.take(nowMillis: 499)
        #expect(result1 == false)
        let result2 = bucket.take(nowMillis: 500)
        #expect(result2)
        let result3 = bucket.take(nowMillis: 10_000)
        #expect(result3 && bucket.tokens == 2)
    }

    @Test func invalidTrafficGraylistsAPeerUntilItsScoreDecays() {
        var book = PeerScoreBook()
        let peer = testID(1), honest = testID(2)
        for _ in 0..<10 { book.penalise(peer, nowMillis: 0) }
        #expect(book.score(of: peer, nowMillis: 0) == -100)
        let result4 = book.admit(peer, nowMillis: 0)
        #expect(result4 == .graylisted)
        let result5 = book.admit(honest, nowMillis: 0)
        #expect(result5 == .admitted)
        // 0.99 per second: after ~70 s the score is back above the threshold.
        let result6 = book.admit(peer, nowMillis: 70_000)
        #expect(result6 == .admitted)
    }

    @Test func floodingPeerIsRateLimited() {
        var book = PeerScoreBook()
        let flooder = testID(3)
        let admitted = (0..<200).filter { _ in book.admit(flooder, nowMillis: 1_000) == .admitted }.count
        #expect(admitted == 50)
        let result7 = book.admit(flooder, nowMillis: 1_050)
        #expect(result7 == .admitted)  // one token back after 50 ms at 20/s
        let result8 = book.admit(flooder, nowMillis: 1_050)
        #expect(result8 == .rateLimited)
    }
}
