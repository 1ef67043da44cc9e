import { describe, expect, it } from 'vitest';
import { parseNsLink, parsePidCgroup, parseSocketLink } from './pid-cgroup.js';

const ID = '5abaeb32479b28cd020611d98d80c24ee6ee8adf52664eb950d0155c2825389b';
const ID2 = 'a'.repeat(64);

describe('parsePidCgroup', () => {
  it.each([
    ['cgroup v1, cgroupfs driver (captured here)', `9:name=systemd:/docker/${ID}\n8:pids:/docker/${ID}\n0::/docker/${ID}\n`, ID],
    ['cgroup v2, systemd driver', `0::/system.slice/docker-${ID}.scope\n`, ID],
    ['cgroup v2, cgroupfs driver', `0::/docker/${ID}\n`, ID],
    ['systemd inside the container', `0::/system.slice/docker-${ID}.scope/init.scope\n`, ID],
    ['docker in docker: innermost wins', `0::/docker/${ID}/docker/${ID2}\n`, ID2],
    ['containerd CRI', `0::/kubepods.slice/kubepods-pod1.slice/cri-containerd-${ID}.scope\n`, ID],
    ['host process', '0::/init.scope\n', undefined],
    ['host process v1', '12:pids:/user.slice/user-0.slice\n1:name=systemd:/\n', undefined],
    ['empty', '', undefined],
    ['63 hex is not an id', `0::/docker/${ID.slice(1)}\n`, undefined],
  ])('%s', (_name, text, expected) => {
    expect(parsePidCgroup(text)).toBe(expected);
  });
});

describe('parseNsLink', () => {
  it('reads the inode', () => expect(parseNsLink('net:[4026531833]')).toBe(4026531833));
  it('rejects another namespace type', () => expect(() => parseNsLink('mnt:[4026531841]')).toThrow(/not a net namespace link/));
  it('rejects garbage', () => expect(() => parseNsLink('/dev/null')).toThrow());
});

describe('parseSocketLink', () => {
  it.each([
    ['socket:[12157]', 12157],
    ['pipe:[123]', undefined],
    ['/dev/null', undefined],
    ['socket:[abc]', undefined],
  ])('%s', (link, expected) => expect(parseSocketLink(link)).toBe(expected));
});
