import { expect } from '@open-wc/testing';
import { toStreamPoint } from '../../src/kit-stream-player/input.js';

describe('toStreamPoint', () => {
  const stream = { width: 1920, height: 1080 };

  it('undoes the scale and the letterbox bars of contain', () => {
    // 1920x1080 contained in 800x600: scale 800/1920, picture 800x450 with bars of 75 px above and below.
    const box = { width: 800, height: 600 };
    expect(toStreamPoint(400, 300, box, stream, 'contain')).to.deep.equal({ x: 960, y: 540 });
    expect(toStreamPoint(0, 75, box, stream, 'contain')).to.deep.equal({ x: 0, y: 0 });
    expect(toStreamPoint(800, 525, box, stream, 'contain')).to.deep.equal({ x: 1919, y: 1079 });
    expect(toStreamPoint(100, 100, box, stream, 'contain')).to.deep.equal({ x: 240, y: 60 });
    expect(toStreamPoint(400, 50, box, stream, 'contain'), 'a point on the bar').to.equal(undefined);
  });

  it('undoes the crop of cover', () => {
    // 1920x1080 covering 600x600: scale 600/1080, picture 1066.7 wide, 233.3 px cropped on each side.
    const box = { width: 600, height: 600 };
    expect(toStreamPoint(300, 300, box, stream, 'cover')).to.deep.equal({ x: 960, y: 540 });
    expect(toStreamPoint(0, 0, box, stream, 'cover')).to.deep.equal({ x: 420, y: 0 });
  });

  it('scales each axis on its own for fill', () => {
    const box = { width: 960, height: 1080 };
    expect(toStreamPoint(480, 270, box, stream, 'fill')).to.deep.equal({ x: 960, y: 270 });
  });

  it('gives nothing before the video has a size', () => {
    expect(toStreamPoint(10, 10, { width: 100, height: 100 }, { width: 0, height: 0 }, 'contain')).to.equal(undefined);
  });
});
