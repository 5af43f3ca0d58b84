// Keeps the screen video in step with the call's audio on the recording
// page: the audio element is the clock; the video's first frame is offset
// seconds after the audio's start. Seeking either moves both.

/** videoTimeFor is the video time shown at audio time a. */
export function videoTimeFor(a, offset) {
  return Math.max(0, a - offset);
}

/** audioTimeFor is the audio time of video time v. */
export function audioTimeFor(v, offset) {
  return Math.max(0, v + offset);
}

/** drifted reports whether the video is too far from where it should be. */
export function drifted(videoTime, wanted, tolerance = 0.25) {
  return Math.abs(videoTime - wanted) > tolerance;
}

/** syncMedia links video to audio; it returns a function that unlinks them. */
export function syncMedia(audio, video, offset) {
  let fromVideo = false; // a seek the video started: do not echo it back
  const place = () => {
    const want = videoTimeFor(audio.currentTime || 0, offset);
    if (drifted(video.currentTime || 0, want)) {
      try {
        video.currentTime = want;
      } catch (_) {
        // Not seekable yet (no metadata): the next event places it.
      }
    }
  };
  const follow = () => {
    place();
    const before = (audio.currentTime || 0) < offset;
    if (!audio.paused && !before && video.paused) video.play().catch(() => {});
    if ((audio.paused || before) && !video.paused) video.pause();
  };
  const onAudioSeek = () => {
    if (fromVideo) {
      fromVideo = false;
      return;
    }
    follow();
  };
  const onVideoSeek = () => {
    // A seek in the video's own controls moves the audio.
    const want = videoTimeFor(audio.currentTime || 0, offset);
    if (!drifted(video.currentTime || 0, want)) return;
    fromVideo = true;
    audio.currentTime = audioTimeFor(video.currentTime || 0, offset);
  };
  const on = [
    [audio, 'play', follow], [audio, 'pause', follow], [audio, 'seeked', onAudioSeek], [audio, 'timeupdate', follow],
    [audio, 'ratechange', () => { video.playbackRate = audio.playbackRate; }],
    [video, 'seeked', onVideoSeek], [video, 'loadedmetadata', follow],
  ];
  for (const [el, ev, fn] of on) el.addEventListener(ev, fn);
  return () => {
    for (const [el, ev, fn] of on) el.removeEventListener(ev, fn);
  };
}
