import { it } from 'node:test';
import assert from 'node:assert/strict';
import { addServerTraffic, parseServerStats } from './show-stat.js';

// The columns of HAProxy 2.6's `show stat` up to those Wharf reads, in HAProxy's order (129 in all; the rest change nothing here).
const HEADER = '# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight,act,bck,chkfail,chkdown,lastchg,downtime,qlimit,pid,iid,sid,throttle,lbtot,tracked,type,rate,rate_lim,rate_max,check_status,check_code,check_duration,hrsp_1xx,hrsp_2xx,hrsp_3xx,hrsp_4xx,hrsp_5xx,hrsp_other,hanafail,req_rate,req_rate_max,req_tot,cli_abrt,srv_abrt,comp_in,comp_out,comp_byp,comp_rsp,lastsess,last_chk,last_agt,qtime,ctime,rtime,ttime';
const columns = HEADER.slice(2).split(',');
function row(values: Record<string, string>): string {
  return columns.map((c) => values[c] ?? '').join(',');
}

it('reads each server row\'s health fields and traffic counters, skipping FRONTEND and BACKEND rows', () => {
  const csv = [
    HEADER,
    row({ pxname: 'tg_1', svname: 'slot0', status: 'UP', check_status: '* L7OK', check_code: '200', req_tot: '12', hrsp_2xx: '9', hrsp_3xx: '1', hrsp_4xx: '2', hrsp_5xx: '0', rtime: '7' }),
    row({ pxname: 'tg_1', svname: 'slot1', status: 'MAINT', check_status: '', req_tot: '0', hrsp_2xx: '0', rtime: '0' }),
    row({ pxname: 'tg_1', svname: 'BACKEND', status: 'UP', req_tot: '12', hrsp_2xx: '9' }),
    row({ pxname: 'tcp_1', svname: 'slot0', status: 'DOWN', check_status: 'L4CON' }),
    '',
  ].join('\n');
  assert.deepEqual(parseServerStats(csv), [
    { backend: 'tg_1', server: 'slot0', status: 'UP', checkStatus: 'L7OK', checkCode: '200',
      traffic: { requests: 12, http: { '2XX': 9, '3XX': 1, '4XX': 2, '5XX': 0 }, responseTimeMs: 7 } },
    { backend: 'tg_1', server: 'slot1', status: 'MAINT', checkStatus: '', checkCode: '',
      traffic: { requests: 0, http: { '2XX': 0, '3XX': 0, '4XX': 0, '5XX': 0 }, responseTimeMs: 0 } },
    // A TCP server has no HTTP counters: empty fields read as zero.
    { backend: 'tcp_1', server: 'slot0', status: 'DOWN', checkStatus: 'L4CON', checkCode: '',
      traffic: { requests: 0, http: { '2XX': 0, '3XX': 0, '4XX': 0, '5XX': 0 }, responseTimeMs: 0 } },
  ]);
});

it('refuses a header without a column it reads, naming it', () => {
  assert.throws(() => parseServerStats('# pxname,svname,status,check_status,check_code,req_tot\n'), /no hrsp_2xx, hrsp_3xx, hrsp_4xx, hrsp_5xx, rtime/);
});

it('adds a slot\'s and its fail-open twin\'s traffic, the response time weighted by their responses', () => {
  const slot = { requests: 4, http: { '2XX': 3, '3XX': 0, '4XX': 0, '5XX': 1 }, responseTimeMs: 10 };
  const twin = { requests: 12, http: { '2XX': 12, '3XX': 0, '4XX': 0, '5XX': 0 }, responseTimeMs: 30 };
  assert.deepEqual(addServerTraffic(slot, twin), { requests: 16, http: { '2XX': 15, '3XX': 0, '4XX': 0, '5XX': 1 }, responseTimeMs: 25 });
  const idle = { requests: 0, http: { '2XX': 0, '3XX': 0, '4XX': 0, '5XX': 0 }, responseTimeMs: 0 };
  assert.deepEqual(addServerTraffic(slot, idle), slot);
  assert.deepEqual(addServerTraffic(idle, twin), twin);
});
