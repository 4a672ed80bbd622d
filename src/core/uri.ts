/**
 * The credentials part of a store URI's authority. A password may contain "@" when it was
 * not percent-encoded, so the hosts start after the last "@"; `user@host` names the user
 * only (the password then comes from the environment or a profile).
 */
export function splitUserinfo(authority: string): {username: string | null; password: string | null; hosts: string} | 'bad-escape' {
  const at = authority.lastIndexOf('@')
  const userinfo = at >= 0 ? authority.slice(0, at) : null
  const hosts = at >= 0 ? authority.slice(at + 1) : authority
  if (userinfo === null) return {username: null, password: null, hosts}
  const colon = userinfo.indexOf(':')
  try {
    return {
      username: decodeURIComponent(colon >= 0 ? userinfo.slice(0, colon) : userinfo) || null,
      password: colon >= 0 ? decodeURIComponent(userinfo.slice(colon + 1)) : null,
      hosts,
    }
  } catch {
    return 'bad-escape'
  }
}
